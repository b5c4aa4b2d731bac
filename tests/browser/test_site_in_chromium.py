"""A reader of the private site in a real browser, through the local distribution (edge/gate.js under node):
a stranger lands on the access form; an invited reader clicks the emailed link, presses Continue, reads
pages, and once revoked is out within a minute (the site's clock is moved past the cookie's 55 s)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from support import LocalServer, request

from magiclink import sitecookie


@pytest.fixture(scope="module")
def stack():
    server = LocalServer.start({"MAGICLINK_LOCAL_CLOCK": "1"})
    yield server
    server.stop()


def _latest_link(base: str, email: str) -> str:
    _, outbox = request("GET", f"{base}/_local/outbox.json", auth=False)
    return next(m for m in reversed(outbox) if m["to"] == [email])["links"][0]


def _wait_for(browser, url: str) -> None:
    WebDriverWait(browser, 10).until(expected_conditions.url_to_be(url))


def test_a_stranger_lands_on_the_access_form(browser, stack, screenshots):
    browser.get(f"{stack.site}/guide/")

    _wait_for(browser, f"{stack.site}/access?next={quote('/guide/', safe='')}")
    assert browser.find_element(By.CSS_SELECTOR, "input[name=next]").get_attribute("value") == "/guide/"
    browser.save_screenshot(str(screenshots / "site-access-form.png"))


def test_an_invited_reader_reads_pages_and_is_out_within_a_minute_of_revocation(browser, stack, screenshots):
    email = "reader@example.com"
    invite = {"email": email, "invite_magic_link_url": f"{stack.site}/guide/"}
    assert request("POST", f"{stack.base}/v1/magic_links/email/invite", invite)[0] == 200

    browser.get(_latest_link(stack.base, email))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    _wait_for(browser, f"{stack.site}/guide/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Getting started"
    logo = browser.find_element(By.CSS_SELECTOR, "header img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", logo) == 40
    browser.save_screenshot(str(screenshots / "site-guide.png"))
    browser.find_element(By.LINK_TEXT, "Key rotation").click()
    _wait_for(browser, f"{stack.site}/guide/rotation.html")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Key rotation"

    assert request("DELETE", f"{stack.base}/v1/readers/{quote(email)}")[0] == 200
    request("POST", f"{stack.base}/_local/clock", {"advance": sitecookie.SITE_COOKIE_SECONDS + 5})
    browser.get(f"{stack.site}/guide/")

    _wait_for(browser, f"{stack.site}/access?next={quote('/guide/', safe='')}")
    assert browser.get_cookies() == []


def test_sign_out_from_a_page_ends_it(browser, stack):
    email = "leaver@example.com"
    invite = {"email": email, "invite_magic_link_url": f"{stack.site}/"}
    assert request("POST", f"{stack.base}/v1/magic_links/email/invite", invite)[0] == 200
    browser.get(_latest_link(stack.base, email))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for(browser, f"{stack.site}/")

    browser.find_element(By.CSS_SELECTOR, "form.sign-out button").click()

    _wait_for(browser, f"{stack.site}/access")
    browser.get(f"{stack.site}/")
    _wait_for(browser, f"{stack.site}/access?next=%2F")
