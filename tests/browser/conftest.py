"""Headless Chromium (Debian's chromium + chromium-driver, installed by `make test`) against the local stack."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from support import LocalServer

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMEDRIVER) and os.path.exists(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; `make test` installs it (chromium, chromium-driver)")
        pytest.skip("Chromium is not installed: run `make browser` (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="magiclink-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def live():
    server = LocalServer.start()
    yield server.base
    server.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory):
    """Where screenshots go: docs/ when `make screenshots` asks (SCREENSHOTS=docs), else a temporary folder,
    so a test run checks they can be taken without rewriting the tracked ones."""
    if os.environ.get("SCREENSHOTS") == "docs":
        from support import ROOT

        return ROOT / "docs"
    return tmp_path_factory.mktemp("screenshots")
