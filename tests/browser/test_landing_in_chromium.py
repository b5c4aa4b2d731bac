"""A person in a real browser: from the email's link, through the landing page, to the target, signed in."""

from __future__ import annotations

import http.server
import threading
from urllib.parse import parse_qs, urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from support import request


def _latest_link(base: str, email: str) -> str:
    _, outbox = request("GET", f"{base}/_local/outbox.json", auth=False)
    return next(m for m in reversed(outbox) if m["to"] == [email])["links"][0]


def test_hosted_mode_from_email_to_a_signed_in_target(browser, live, screenshots):
    request("POST", f"{live}/v1/magic_links/email/invite", {"email": "ada@example.com", "session_duration_minutes": 60})
    link = _latest_link(live, "ada@example.com")

    browser.get(link)
    button = browser.find_element(By.CSS_SELECTOR, "button[type=submit]")
    assert button.text == "Continue"
    assert "Magic Link" in browser.page_source
    browser.save_screenshot(str(screenshots / "landing-page.png"))

    button.click()  # a press on the page itself passes the same-origin check (Chromium: Sec-Fetch-Site same-origin)
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/_local/callback"))

    target, _, fragment = browser.current_url.partition("#")
    assert target == f"{live}/_local/callback"
    session_token = parse_qs(fragment)["session_token"][0]
    status, body = request("POST", f"{live}/v1/sessions/authenticate", {"session_token": session_token})
    assert status == 200 and body["user"]["emails"][0]["email"] == "ada@example.com"

    # Back to the email: the link is spent, and the page offers a new one instead of an error
    browser.get(link)
    assert "no longer works" in browser.page_source


def test_app_mode_hands_the_token_to_the_app(browser, live):
    request("POST", f"{live}/v1/magic_links/email/invite", {"email": "bob@example.com"})
    link = _latest_link(live, "bob@example.com")

    browser.get(link)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/_local/callback?"))

    token = parse_qs(urlsplit(browser.current_url).query)["token"][0]
    assert token in browser.page_source  # the stand-in app page shows what it received
    status, body = request("POST", f"{live}/v1/magic_links/authenticate", {"token": token})
    assert status == 200 and body["user"]["status"] == "active"


def test_another_sites_form_posting_a_link_is_refused_and_the_link_still_works_from_its_page(browser, live):
    # Login CSRF: the attacker's own hosted-mode link, posted by the attacker's page in the victim's browser.
    # A page on another port of 127.0.0.1 is another origin (and the same site, which is not enough).
    invite = {"email": "mallory@example.com", "session_duration_minutes": 60}
    request("POST", f"{live}/v1/magic_links/email/invite", invite)
    link = _latest_link(live, "mallory@example.com")
    token = parse_qs(urlsplit(link).query)["token"][0]
    page = (
        f'<form method="post" action="{live}/v1/magic_links/redirect">'
        f'<input type="hidden" name="token" value="{token}"><button id="go">Win a prize</button></form>'
    ).encode()

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_port}/")
        browser.find_element(By.ID, "go").click()
        WebDriverWait(browser, 10).until(expected_conditions.url_to_be(f"{live}/v1/magic_links/redirect"))
    finally:
        server.shutdown()
        server.server_close()

    assert "This sign-in was stopped" in browser.page_source and "nobody was signed in" in browser.page_source
    _, listed = request("GET", f"{live}/v1/readers?email=mallory%40example.com")
    assert listed["readers"][0]["link_state"] == "active"  # nothing spent

    # The same link, opened and pressed on its own page, still signs in
    browser.get(link)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/_local/callback"))
    assert "session_token=" in browser.current_url
