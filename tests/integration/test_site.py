"""The private site through the local distribution (make run's SITE_PORT): the real gate (edge/gate.js under
node), the site's bucket, and the service's sign-in, refresh and sign-out on the site's own origin."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import time
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import boto3
import pytest
from support import request

from local import stack
from magiclink import sitecookie


class Browser:
    """Just enough of one: cookies by name and path (set, replaced, cleared by Max-Age=0), no redirects followed."""

    def __init__(self, site: str):
        self.site = site
        self.origin = urlsplit(site)
        self.jar: dict[str, tuple[str, str]] = {}
        self.set_cookies: list[str] = []

    def send(self, method: str, path: str, body: dict | None = None, origin: str | None = None):
        connection = http.client.HTTPConnection(self.origin.hostname, self.origin.port, timeout=15)
        headers = {"Sec-Fetch-Site": "same-origin", "Origin": origin or self.site}
        cookies = [f"{n}={v}" for n, (v, p) in self.jar.items() if urlsplit(path).path.startswith(p)]
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        data = urlencode(body) if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        self.set_cookies = response.headers.get_all("Set-Cookie") or []
        for line in self.set_cookies:
            name, _, value = line.split(";")[0].partition("=")
            attributes = {a.strip().split("=")[0].lower(): a.strip() for a in line.split(";")[1:]}
            cookie_path = attributes.get("path", "Path=/").split("=", 1)[1]
            if attributes.get("max-age") == "Max-Age=0":
                self.jar.pop(name, None)
            else:
                self.jar[name] = (value, cookie_path)
        connection.close()
        return response.status, response.headers, payload

    def get(self, path: str):
        return self.send("GET", path)

    def follow(self, location: str):
        """A Location's path and query, on the site (the test fails if it points anywhere else)."""
        parts = urlsplit(location)
        assert parts.netloc in ("", self.origin.netloc), location
        return self.get(parts.path + (f"?{parts.query}" if parts.query else ""))


@pytest.fixture(scope="module")
def site(site_server):
    return site_server


def _api(site_server, method: str, path: str, body: object = None):
    return request(method, f"{site_server.base}{path}", body)


def _advance(site_server, seconds: int) -> None:
    status, _ = _api(site_server, "POST", "/_local/clock", {"advance": seconds})
    assert status == 200


def _emailed_link(site_server, email: str) -> str:
    _, messages = request("GET", f"{site_server.base}/_local/outbox.json", auth=False)
    return [m for m in messages if email in m["to"]][-1]["links"][0]


def _signed_in(site_server, email: str, page: str = "/guide/") -> tuple[Browser, dict]:
    """An invited reader who opened the emailed link on the site and pressed Continue."""
    status, invited = _api(
        site_server,
        "POST",
        "/v1/magic_links/email/invite",
        {"email": email, "invite_magic_link_url": site_server.site + page},
    )
    assert status == 200, invited
    link = urlsplit(_emailed_link(site_server, email))
    assert f"{link.scheme}://{link.netloc}" == site_server.site and link.path == "/v1/magic_links/redirect"
    browser = Browser(site_server.site)
    status, _, body = browser.get(f"{link.path}?{link.query}")
    assert status == 200 and b"Continue" in body
    token = link.query.split("token=", 1)[1]
    status, headers, _ = browser.send("POST", "/v1/magic_links/redirect", {"token": token})
    assert status == 303, headers
    assert headers["Location"] == site_server.site + page
    return browser, invited


def test_a_stranger_is_sent_to_the_access_form_which_carries_next(site):
    browser = Browser(site.site)

    status, headers, _ = browser.get("/guide/?tab=2")

    assert status == 302
    assert headers["Location"] == "/access?next=" + quote("/guide/?tab=2", safe="")
    status, _, page = browser.follow(headers["Location"])
    assert status == 200 and b'name="next" value="/guide/?tab=2"' in page


def test_a_reader_asking_on_the_access_form_gets_a_link_back_to_the_page_they_wanted(site):
    _signed_in(site, "asker@example.com")  # a live grant
    browser = Browser(site.site)

    status, _, _ = browser.send("POST", "/access", {"email": "asker@example.com", "next": "/guide/rotation.html"})

    assert status == 200
    link = urlsplit(_emailed_link(site, "asker@example.com"))
    assert f"{link.scheme}://{link.netloc}" == site.site
    token = link.query.split("token=", 1)[1]
    status, headers, _ = browser.send("POST", "/v1/magic_links/redirect", {"token": token})
    assert status == 303 and headers["Location"] == site.site + "/guide/rotation.html"


def test_a_reader_who_opens_the_email_elsewhere_types_the_code_on_the_sites_access_page(site):
    """Issue 16 on the private site: the code from the email, typed where the link was asked for, sets the
    site's cookies just as Continue does, and the pages load."""
    _signed_in(site, "coder@example.com")  # a live grant
    _advance(site, 120)  # past the self-service cooldown
    browser = Browser(site.site)
    status, _, page = browser.send("POST", "/access", {"email": "coder@example.com", "next": "/guide/rotation.html"})
    assert status == 200 and b'name="code"' in page and "ml_code" in browser.jar
    _, messages = request("GET", f"{site.base}/_local/outbox.json", auth=False)
    (code,) = [m for m in messages if "coder@example.com" in m["to"]][-1]["codes"]

    status, headers, _ = browser.send("POST", "/access", {"code": code})

    assert status == 303 and headers["Location"] == site.site + "/guide/rotation.html"
    assert "ml_site" in browser.jar and "ml_site_refresh" in browser.jar and "ml_code" not in browser.jar
    assert browser.follow(headers["Location"])[0] == 200


def test_continue_sets_both_cookies_and_the_pages_and_image_load_with_them(site):
    browser, _ = _signed_in(site, "ada@example.com")
    site_cookie, refresh_cookie = browser.set_cookies
    assert site_cookie.startswith("ml_site=v1.") and "Path=/;" in site_cookie
    assert refresh_cookie.startswith("ml_site_refresh=") and "Path=/_site/" in refresh_cookie
    for cookie in (site_cookie, refresh_cookie):  # as long as the session: 7 days, less the second it may have taken
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert 604790 <= int(re.search(r"Max-Age=(\d+)", cookie).group(1)) <= 604800

    for path, kind in [("/guide/", "text/html"), ("/", "text/html"), ("/style.css", "text/css")]:
        status, headers, _ = browser.get(path)
        assert (status, headers["Content-Type"].split(";")[0]) == (200, kind), path
    status, headers, image = browser.get("/assets/logo.svg")
    assert status == 200 and headers["Content-Type"] == "image/svg+xml" and image.startswith(b"<svg")
    status, _, page = browser.get("/guide/index.html")
    assert status == 200 and b"Getting started" in page
    assert browser.get("/missing/")[0] == 404


def test_an_expired_cookie_goes_to_refresh_which_issues_a_new_one(site):
    browser, _ = _signed_in(site, "bea@example.com")
    first = browser.jar["ml_site"][0]

    _advance(site, sitecookie.SITE_COOKIE_SECONDS + 5)
    status, headers, _ = browser.get("/guide/")

    assert status == 302 and headers["Location"] == "/_site/refresh?next=%2Fguide%2F"
    status, headers, _ = browser.follow(headers["Location"])
    assert status == 303 and headers["Location"] == site.site + "/guide/"
    assert browser.jar["ml_site"][0] != first
    assert browser.follow(headers["Location"])[0] == 200


def _revoke_access(site, email, invited, browser):
    return _api(site, "DELETE", f"/v1/readers/{quote(email)}")


def _delete_user(site, email, invited, browser):
    return _api(site, "DELETE", f"/v1/users/{invited['user_id']}")


def _revoke_session(site, email, invited, browser):
    return _api(site, "POST", "/v1/sessions/revoke", {"session_token": browser.jar["ml_site_refresh"][0]})


@pytest.mark.parametrize("end", [_revoke_access, _delete_user, _revoke_session])
def test_once_access_or_the_session_ends_the_reader_is_out_within_a_minute(site, end):
    email = f"{end.__name__.strip('_')}@example.com"
    browser, invited = _signed_in(site, email)
    assert browser.get("/guide/")[0] == 200

    assert end(site, email, invited, browser)[0] == 200
    _advance(site, sitecookie.SITE_COOKIE_SECONDS + 5)
    status, headers, _ = browser.get("/guide/")
    assert status == 302
    status, headers, _ = browser.follow(headers["Location"])

    assert status == 303 and headers["Location"] == site.site + "/access?next=%2Fguide%2F"
    assert "ml_site" not in browser.jar and "ml_site_refresh" not in browser.jar
    assert browser.get("/guide/")[1]["Location"].startswith("/access?")


def test_sign_out_ends_the_session_and_clears_both_cookies(site):
    browser, _ = _signed_in(site, "cy@example.com")
    token = browser.jar["ml_site_refresh"][0]

    status, _, _ = browser.send("POST", "/_site/sign-out", {}, origin="https://evil.example")
    assert status == 403 and "ml_site" in browser.jar
    status, headers, _ = browser.send("POST", "/_site/sign-out", {})

    assert status == 303 and headers["Location"] == site.site + "/access"
    assert browser.jar == {}
    assert browser.get("/guide/")[1]["Location"].startswith("/access?")
    assert _api(site, "POST", "/v1/sessions/authenticate", {"session_token": token})[0] == 404


ESCAPES = [
    "//evil.com",
    "https://evil.com/",
    "/\\evil.com",
    "/%2F/evil.com",
    "/%5Cevil.com",
    "evil.com",
    "/a/\t//x",
    "",
]


def test_next_never_leaves_the_site(site):
    browser, _ = _signed_in(site, "dee@example.com")

    for escape in ESCAPES:
        status, headers, _ = browser.get("/_site/refresh?" + urlencode({"next": escape}))
        assert (status, headers["Location"]) == (303, site.site + "/"), escape
    status, headers, _ = browser.get("/_site/refresh?next=%2Fguide%2Frotation.html%3Fv%3D2")
    assert headers["Location"] == site.site + "/guide/rotation.html?v=2"


def _secret(site) -> tuple[dict, object]:
    _, health = request("GET", f"{site.base}/_local/health", auth=False)
    client = boto3.client("secretsmanager", endpoint_url=health["aws_endpoint"], **_dummy())
    name = stack.local_names()["TokenKeySecret"]
    return json.loads(client.get_secret_value(SecretId=name)["SecretString"]), client


def _dummy() -> dict:
    return {"region_name": stack.REGION, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _forged(session_id: str, key: bytes, now: int) -> str:
    kid, value = sitecookie.site_keys([key])[0]
    message = f"{sitecookie.VERSION}.{kid}.{now + 50}.{session_id}"
    return f"{message}.{sitecookie._sig(value, message)}"


def test_a_cookie_signed_with_an_unknown_key_is_refused(site):
    browser, _ = _signed_in(site, "eve@example.com")
    session_id = browser.jar["ml_site"][0].split(".")[3]
    now = int(browser.jar["ml_site"][0].split(".")[2]) - sitecookie.SITE_COOKIE_SECONDS

    browser.jar["ml_site"] = (_forged(session_id, b"not-the-token-key", now), "/")
    status, headers, _ = browser.get("/guide/")

    assert status == 302 and headers["Location"].startswith("/access?")


def test_a_cookie_from_before_a_token_key_rotation_still_opens_pages_until_the_key_is_retired(site):
    browser, _ = _signed_in(site, "fay@example.com")
    old, client = _secret(site)
    name = stack.local_names()["TokenKeySecret"]
    rotated = {"kid": "k2", "key": "k-new-" + "n" * 58}

    client.put_secret_value(SecretId=name, SecretString=json.dumps(rotated | {"previous_keys": [old["key"]]}))
    assert browser.get("/guide/")[0] == 200

    client.put_secret_value(SecretId=name, SecretString=json.dumps(rotated | {"previous_keys": []}))
    status, headers, _ = browser.get("/guide/")
    assert status == 302 and headers["Location"].startswith("/access?")
    client.put_secret_value(SecretId=name, SecretString=json.dumps(old))


def test_health_is_200_only_while_the_site_is_served_and_a_dead_gate_is_restarted(site):
    pid = site.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    (gate,) = [int(c) for c in children if b"harness.mjs" in Path(f"/proc/{c}/cmdline").read_bytes()]
    os.kill(gate, signal.SIGKILL)
    time.sleep(0.5)  # the server notices when it polls the process

    assert request("GET", f"{site.base}/_local/health", auth=False)[0] == 503
    assert Browser(site.site).get("/guide/")[0] == 302  # the next request starts a new gate
    assert request("GET", f"{site.base}/_local/health", auth=False)[0] == 200
