"""The redirect allow-list: exact match on scheme, host, port and path; every bypass shape refused."""

from __future__ import annotations

import pytest

from magiclink import links
from magiclink.errors import InvalidRedirectUrl, NoDefaultRedirectUrl

ALLOWED = "https://docs.example.com/auth,http://localhost:3000/callback"


@pytest.fixture(autouse=True)
def allow_list(configure):
    configure(TABLE_NAME="t", CREDENTIALS_SECRET_ID="c", TOKEN_KEY_SECRET_ID="k", REDIRECT_URLS=ALLOWED)


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.example.com/auth",
        "HTTPS://Docs.Example.COM/auth",
        "https://docs.example.com:443/auth",
        "https://docs.example.com/auth?next=/guide",
        "http://localhost:3000/callback",
    ],
)
def test_allowed_urls_pass_unchanged(url):
    assert links.redirect_target(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/auth",
        "https://docs.example.com.evil.com/auth",
        "https://docs.example.com/auth/",
        "https://docs.example.com/AUTH",
        "https://docs.example.com/auth/../admin",
        "https://docs.example.com/auth%2F..%2Fadmin",
        "https://docs.example.com%2F@evil.com/auth",
        "https://docs.example.com@evil.com/auth",
        "https://user:pass@docs.example.com/auth",
        "http://docs.example.com/auth",
        "https://docs.example.com:8443/auth",
        "//docs.example.com/auth",
        "//evil.com/auth",
        "/auth",
        "javascript:alert(1)//docs.example.com/auth",
        "data:text/html,<script>alert(1)</script>",
        "https://docs.example.com\\@evil.com/auth",
        "https://docs.example.com/auth#@evil.com",
        "https://docs.example.com/auth\r\nLocation: https://evil.com",
        " https://docs.example.com/auth",
        "https://docs.example.com\t/auth",
        "https://[::1]:3000/callback",
        "http://localhost:3001/callback",
        "https://docs.example.com:99999/auth",
        "",
    ],
)
def test_everything_else_is_refused(url):
    with pytest.raises(InvalidRedirectUrl):
        links.redirect_target(url)


def test_no_url_means_the_first_allowed_one():
    assert links.redirect_target(None) == "https://docs.example.com/auth"


def test_no_url_and_an_empty_allow_list_is_its_own_error(configure):
    configure(REDIRECT_URLS="")
    with pytest.raises(NoDefaultRedirectUrl):
        links.redirect_target(None)


def test_the_token_is_added_to_the_query_and_replaces_any_there():
    url = links.with_token("https://docs.example.com/auth?next=%2Fguide&token=old", "T0K")
    assert url == "https://docs.example.com/auth?next=%2Fguide&token=T0K&stytch_token_type=magic_links"
