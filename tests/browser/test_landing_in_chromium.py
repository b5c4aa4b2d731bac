"""A person in a real browser: from the email's link, through the landing page, to the target, signed in."""

from __future__ import annotations

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

    button.click()
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
