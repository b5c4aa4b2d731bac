"""An admin in a real browser: sign in from the email, grant access, copy a link, revoke, see the link fail."""

from __future__ import annotations

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from support import request


def _latest_link(base: str, email: str) -> str:
    _, outbox = request("GET", f"{base}/_local/outbox.json", auth=False)
    return next(m for m in reversed(outbox) if m["to"] == [email])["links"][0]


def _row(browser, email: str):
    return browser.find_element(By.CSS_SELECTOR, f'#readers tr[data-email="{email}"]')


def _cell(browser, email: str, name: str) -> str:
    return _row(browser, email).find_element(By.CSS_SELECTOR, f"td.{name}").text


def test_an_admin_manages_readers_in_the_console(browser, live, screenshots):
    # The table is redrawn after each change: a row found just before a redraw is looked up again
    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    # Sign in as the admin through the emailed link (what `make admin` sets up)
    admin = {"email": "owner@example.com", "role": "admin", "invite_magic_link_url": f"{live}/console/callback"}
    request("POST", f"{live}/v1/magic_links/email/invite", admin)
    browser.get(_latest_link(live, "owner@example.com"))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "grant-form")))
    assert browser.current_url == f"{live}/console"
    assert "owner@example.com" in browser.find_element(By.ID, "admin").text

    # Grant access to a reader whose name carries HTML: it shows as text
    browser.find_element(By.ID, "grant-email").send_keys("ada@example.com")
    browser.find_element(By.ID, "grant-first-name").send_keys("<b>Ada</b>")
    browser.find_element(By.ID, "grant-submit").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, '#readers tr[data-email="ada@example.com"]'))
    assert "pending" in _cell(browser, "ada@example.com", "status")
    assert "<b>Ada</b>" in _cell(browser, "ada@example.com", "name")
    assert not _row(browser, "ada@example.com").find_elements(By.TAG_NAME, "b")
    assert _latest_link(live, "ada@example.com")  # the invitation was emailed

    # Copy a new link (nothing emailed): it shows, ready to paste
    _row(browser, "ada@example.com").find_element(By.CSS_SELECTOR, "button.copy-link").click()
    wait.until(lambda b: b.find_element(By.ID, "copied-link").get_attribute("value"))
    link = browser.find_element(By.ID, "copied-link").get_attribute("value")
    assert link.startswith(f"{live}/v1/magic_links/redirect?token=")
    screenshots.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1500, 1100)
    browser.execute_script("window.scrollTo(0, 0); document.activeElement.blur();")
    browser.save_screenshot(str(screenshots / "console.png"))
    browser.set_window_size(1100, 900)

    # Filter by status
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("pending")
    wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, '#readers tr[data-email="owner@example.com"]'))

    # Revoke, confirming the dialog; the table shows it at once
    _row(browser, "ada@example.com").find_element(By.CSS_SELECTOR, "button.revoke").click()
    alert = wait.until(expected_conditions.alert_is_present())
    assert "ada@example.com" in alert.text
    alert.accept()
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("")
    wait.until(lambda b: "revoked" in _cell(b, "ada@example.com", "status"))

    # And the copied link no longer works
    browser.get(link)
    assert "no longer works" in browser.page_source


def test_without_a_session_the_console_shows_the_sign_in_form(browser, live):
    browser.get(f"{live}/console")
    browser.delete_all_cookies()  # the session cookie is scoped to /console
    browser.get(f"{live}/console")
    assert browser.find_elements(By.CSS_SELECTOR, 'form[action="/console/sign-in"]')

    # The form's token and its SameSite=Strict cookie go with a press on the page itself
    browser.find_element(By.ID, "email").send_keys("nobody@example.com")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: "on its way" in b.page_source or "another site" in b.page_source)
    assert "If this address belongs to an admin, a sign-in link is on its way" in browser.page_source
