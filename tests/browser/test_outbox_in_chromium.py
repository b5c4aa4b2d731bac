"""A person reading the local outbox in a real browser: from the list, into the email, through its link to
the landing page and on to the target. Saves the screenshots the docs link to (docs/outbox.png and
docs/invite-<locale>.png)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from support import request

# locale: (email, first name, last name)
READERS = {
    "en": ("ada@example.com", "Ada", "Lovelace"),
    "es": ("lucia@example.com", "Lucía", "Fernández"),
    "fr": ("elodie@example.com", "Élodie", "Durand"),
    "pt-br": ("joao@example.com", "João", "Silva"),
}


def _latest(base: str, email: str) -> dict:
    _, outbox = request("GET", f"{base}/_local/outbox.json", auth=False)
    return next(m for m in reversed(outbox) if m["to"] == [email])


def _open(browser, base: str, mail: dict):
    browser.get(f"{base}/_local/outbox?message={quote(mail['message_id'], safe='')}")
    return browser.find_element(By.TAG_NAME, "iframe")


def test_from_the_outbox_through_the_email_to_the_landing_page_and_the_target(browser, live):
    invite = {"email": "grace@example.com", "name": {"first_name": "Grace", "last_name": "Hopper"}}
    assert request("POST", f"{live}/v1/magic_links/email/invite", invite)[0] == 200
    mail = _latest(live, "grace@example.com")

    browser.get(f"{live}/_local/outbox")
    newest = browser.find_element(By.CSS_SELECTOR, "nav a")
    summary = newest.text
    assert "grace@example.com" in summary and mail["subject"] in summary
    newest.click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("?message="))
    assert browser.find_element(By.CSS_SELECTOR, "nav a[aria-current]").text == summary

    # Inside the sandboxed frame: the email as sent, its button a real link; a click opens it in the tab
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    assert "Hello Grace Hopper," in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.LINK_TEXT, "Accept the invitation").click()
    browser.switch_to.default_content()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/v1/magic_links/redirect"))
    assert browser.current_url == mail["links"][0]

    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/_local/callback?"))
    token = parse_qs(urlsplit(browser.current_url).query)["token"][0]
    status, body = request("POST", f"{live}/v1/magic_links/authenticate", {"token": token})
    assert status == 200 and body["user"]["emails"][0]["email"] == "grace@example.com"

    # The text part's link is clickable too (it opens the landing page; the link is spent by now)
    _open(browser, live, mail)
    browser.find_element(By.CSS_SELECTOR, f'pre a[href="{mail["links"][0]}"]').click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/v1/magic_links/redirect"))
    assert "no longer works" in browser.page_source


def test_screenshots_of_the_outbox_and_of_the_invite_in_every_locale(browser, live, screenshots):
    for locale, (email, first, last) in READERS.items():
        invite = {"email": email, "locale": locale, "name": {"first_name": first, "last_name": last}}
        assert request("POST", f"{live}/v1/magic_links/email/invite", invite)[0] == 200

    for locale, (email, first, last) in READERS.items():
        mail = _latest(live, email)
        frame = _open(browser, live, mail)
        browser.switch_to.frame(frame)
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang").lower() == locale
        assert f"{first} {last}" in browser.find_element(By.TAG_NAME, "body").text
        assert browser.find_element(By.CSS_SELECTOR, "a[href]").get_attribute("href") == mail["links"][0]
        assert mail["codes"][0] in browser.find_element(By.TAG_NAME, "body").text.replace(" ", "")
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.switch_to.default_content()
        # The frame as tall as the email (the code made it taller than the outbox's frame in some locales),
        # and all of it in the viewport
        browser.execute_script("arguments[0].style.height = arguments[1] + 'px'", frame, height + 2)
        browser.execute_script("arguments[0].scrollIntoView()", frame)
        frame.screenshot(str(screenshots / f"invite-{locale}.png"))

    # The outbox with the English invite open
    _open(browser, live, _latest(live, READERS["en"][0]))
    assert len(browser.find_elements(By.CSS_SELECTOR, "nav a")) >= len(READERS)
    browser.save_screenshot(str(screenshots / "outbox.png"))
