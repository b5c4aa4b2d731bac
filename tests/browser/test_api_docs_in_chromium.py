"""Swagger UI at /docs in a real browser, offline: it lists the API from /openapi.json, and a call made from
it with the dev credentials (Authorize, Try it out, Execute) reaches the local stack. Takes docs/api-docs.png."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from local import stack


def test_swagger_ui_lists_the_api_and_calls_it_with_basic_auth(browser, live, screenshots):
    browser.get(f"{live}/docs")
    wait = WebDriverWait(browser, 15)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    paths = {e.text.replace("\u200b", "") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/v1/magic_links/email/invite", "/v1/magic_links/authenticate", "/v1/readers"} <= paths
    browser.save_screenshot(str(screenshots / "api-docs.png"))

    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    project_id, secret = stack.credentials()
    wait.until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input[type=text]")))
    browser.find_element(By.CSS_SELECTOR, ".modal-ux input[type=text]").send_keys(project_id)
    browser.find_element(By.CSS_SELECTOR, ".modal-ux input[type=password]").send_keys(secret)
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()

    readers = browser.find_element(By.ID, "operations-Readers-list_readers_v1_readers_get")
    readers.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda _: readers.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    readers.find_element(By.CSS_SELECTOR, ".execute").click()
    status = wait.until(
        lambda _: readers.find_element(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status")
    )
    assert status.text.strip() == "200"
