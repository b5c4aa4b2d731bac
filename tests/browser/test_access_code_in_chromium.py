"""A person in a real browser who asks for a link on /access and finishes with the email's code on that same
page: the ticket cookie (HttpOnly, SameSite=Strict, Path=/access) travels with the code, and the code signs
them in as the link's Continue would (app mode: a token for the app; hosted mode: the session)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from support import LocalServer, request


@pytest.fixture(scope="module")
def live():
    """A server whose self-service cooldown is one second, so a reader may ask on /access right after the invite."""
    server = LocalServer.start(env={"MAGICLINK_PARAMETER_OVERRIDES": "RequestCooldownSeconds=1"})
    yield server.base
    server.stop()


def _latest(base: str, email: str) -> dict:
    _, outbox = request("GET", f"{base}/_local/outbox.json", auth=False)
    return next(m for m in reversed(outbox) if m["to"] == [email])


def _ask_on_access(browser, live: str, email: str) -> str:
    """Ask for a link on /access in the browser; the code of the email that went out."""
    browser.delete_all_cookies()
    browser.get(f"{live}/access")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.CSS_SELECTOR, "form[action='/access'] button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.ID, "code")))
    ticket = browser.get_cookie("ml_code")
    assert ticket and ticket["httpOnly"] and ticket["sameSite"] == "Strict" and ticket["path"] == "/access"
    (code,) = _latest(live, email)["codes"]
    return code


def _type_code(browser, code: str) -> None:
    browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.CSS_SELECTOR, "form.code-form button[type=submit]").click()


def test_app_mode_a_code_typed_on_access_lands_on_the_target_with_a_token_for_the_app(browser, live, screenshots):
    # Given a reader invited with an app-mode link (no session_duration_minutes), who asks again on /access
    request("POST", f"{live}/v1/magic_links/email/invite", {"email": "cleo@example.com", "delivery": "none"})
    time.sleep(1.1)
    code = _ask_on_access(browser, live, "cleo@example.com")
    assert "Sign in with the code" in browser.page_source

    # When they type the email's code on that page
    browser.find_element(By.ID, "code").send_keys(code)
    browser.save_screenshot(str(screenshots / "access-code.png"))
    browser.find_element(By.CSS_SELECTOR, "form.code-form button[type=submit]").click()

    # Then they land on the target with a token, which the app authenticates once
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/_local/callback?"))
    target = urlsplit(browser.current_url)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{live}/_local/callback"
    token = parse_qs(target.query)["token"][0]
    assert token in browser.page_source  # the stand-in app page shows what it received
    emailed = parse_qs(urlsplit(_latest(live, "cleo@example.com")["links"][0]).query)["token"][0]
    assert token != emailed
    status, body = request("POST", f"{live}/v1/magic_links/authenticate", {"token": token})
    assert status == 200 and body["user"]["emails"][0]["email"] == "cleo@example.com"
    assert request("POST", f"{live}/v1/magic_links/authenticate", {"token": token})[0] == 401
    assert request("POST", f"{live}/v1/magic_links/authenticate", {"token": emailed})[0] == 401  # one credential
    assert browser.get_cookie("ml_code") is None  # the ticket was cleared


def test_hosted_mode_a_code_typed_on_access_lands_on_the_target_signed_in(browser, live):
    # Given a reader invited with a hosted-mode link (the invite names a session length)
    invite = {"email": "dora@example.com", "delivery": "none", "session_duration_minutes": 60}
    request("POST", f"{live}/v1/magic_links/email/invite", invite)
    time.sleep(1.1)
    code = _ask_on_access(browser, live, "dora@example.com")

    # When a wrong code is typed first, the form stays; then the right one signs them in
    _type_code(browser, f"{(int(code) + 1) % 1_000_000:06d}")
    WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.ID, "code")))
    assert "That code didn" in browser.page_source
    _type_code(browser, code)

    # Then the target's fragment carries the session, which the API knows, started by the code
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/_local/callback"))
    target, _, fragment = browser.current_url.partition("#")
    assert target == f"{live}/_local/callback"
    session_token = parse_qs(fragment)["session_token"][0]
    status, body = request("POST", f"{live}/v1/sessions/authenticate", {"session_token": session_token})
    assert status == 200 and body["user"]["emails"][0]["email"] == "dora@example.com"
    assert body["session"]["authentication_factors"][0]["type"] == "otp"
