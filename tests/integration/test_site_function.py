"""The private site's service side, function by function (in-process, every AWS call recorded for IAM): a link
to the site, Continue's cookies on https, SiteFunction's refresh and sign-out, and where the site's URL comes from."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

import boto3
import pytest
from support import event, last_token, table_items

from magiclink import links, sitecookie

SITE = "https://docs.example.com"


@pytest.fixture
def site(configure):
    configure(SITE_URL=SITE)


def _cookies(reply) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in reply.cookies}


def _signed_in(api, outbox, email="ada@example.com", page="/guide/"):
    assert api.invite(email, invite_magic_link_url=SITE + page).status == 200
    link = outbox.messages()[-1].links[0]
    assert link.startswith(f"{SITE}/v1/magic_links/redirect?token=")
    reply = api.send("landing_continue", raw_body=urlencode({"token": last_token(outbox)}))
    assert reply.status == 303, reply.body
    return reply


def _site_event(name: str, refresh_token: str | None, **kwargs) -> dict:
    sent = event(name, **kwargs)
    sent["cookies"] = [f"__Secure-ml_site_refresh={refresh_token}"] if refresh_token else []
    return sent


def test_continue_on_https_sets_host_and_secure_prefixed_cookies_and_goes_to_the_page(api, outbox, site):
    reply = _signed_in(api, outbox)

    assert reply.headers["Location"] == f"{SITE}/guide/"
    cookies = _cookies(reply)
    assert set(cookies) == {"__Host-ml_site", "__Secure-ml_site_refresh"}
    lasting = r"Max-Age=60479\d|Max-Age=604800"  # the session's 7 days, less the second the request may have taken
    assert re.search(rf"; Path=/; ({lasting}); HttpOnly; Secure; SameSite=Lax$", cookies["__Host-ml_site"])
    assert re.search(
        rf"; Path=/_site/; ({lasting}); HttpOnly; Secure; SameSite=Lax$", cookies["__Secure-ml_site_refresh"]
    )
    value = cookies["__Host-ml_site"].split(";")[0].split("=", 1)[1]
    session_id, fresh = sitecookie.verify(value, now=int(value.split(".")[2]) - 1)
    assert fresh and session_id.startswith("session-test-")


def test_refresh_reissues_while_the_session_lives_and_clears_both_once_it_is_revoked(api, outbox, site):
    token = _cookies(_signed_in(api, outbox))["__Secure-ml_site_refresh"].split(";")[0].split("=", 1)[1]

    renewed = api.deliver(_site_event("site_refresh", token, query={"next": "/guide/rotation.html"}))
    assert renewed.status == 303 and renewed.headers["Location"] == f"{SITE}/guide/rotation.html"
    assert list(_cookies(renewed)) == ["__Host-ml_site"]

    assert api.revoke_access("ada@example.com").status == 200
    refused = api.deliver(_site_event("site_refresh", token, query={"next": "/guide/"}))
    assert refused.headers["Location"] == f"{SITE}/access?next=%2Fguide%2F"
    assert all("Max-Age=0" in line for line in refused.cookies) and len(refused.cookies) == 2


def test_refresh_without_a_cookie_or_with_a_forged_one_goes_to_the_form(api, site):
    for token in (None, "x" * 72, "not-a-token"):
        reply = api.deliver(_site_event("site_refresh", token, query={"next": "//evil.com"}))
        assert reply.status == 303 and reply.headers["Location"] == f"{SITE}/access?next=%2F"


def test_sign_out_revokes_the_session(api, outbox, site):
    token = _cookies(_signed_in(api, outbox))["__Secure-ml_site_refresh"].split(";")[0].split("=", 1)[1]

    reply = api.deliver(_site_event("site_sign_out", token))

    assert reply.status == 303 and reply.headers["Location"] == f"{SITE}/access"
    assert len(reply.cookies) == 2 and all("Max-Age=0" in line for line in reply.cookies)
    assert api.send("sessions_authenticate", {"session_token": token}).status == 404
    assert api.deliver(_site_event("site_sign_out", token)).status == 303  # twice: still signed out


def test_sign_out_from_another_site_is_refused(api, outbox, site):
    token = _cookies(_signed_in(api, outbox))["__Secure-ml_site_refresh"].split(";")[0].split("=", 1)[1]
    sent = _site_event("site_sign_out", token)
    sent["headers"] |= {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}

    assert api.deliver(sent).status == 403
    assert api.send("sessions_authenticate", {"session_token": token}).status == 200


def test_links_elsewhere_than_the_site_keep_the_exact_allow_list(api, outbox, site):
    for url in (f"{SITE}.evil.com/", "https://docs.example.com:8443/", f"{SITE}/../x", "http://docs.example.com/"):
        assert api.invite(invite_magic_link_url=url).status == 400, url
    assert api.invite(invite_magic_link_url=f"{SITE}/any/page.html?x=1").status == 200
    assert urlsplit(outbox.messages()[-1].links[0]).netloc == "docs.example.com"
    api.invite("bob@example.com")  # the default target: the API's landing page, as before
    assert outbox.messages()[-1].links[0].startswith("http://127.0.0.1:3000/v1/magic_links/redirect?")


def test_without_a_site_site_urls_are_refused_and_refresh_is_404(api):
    assert api.invite(invite_magic_link_url=f"{SITE}/guide/").status == 400
    assert api.deliver(_site_event("site_refresh", None)).status == 404


def test_the_site_url_can_come_from_an_ssm_parameter(aws, configure):
    boto3.client("ssm").put_parameter(Name="/magiclink/site-url", Value=SITE, Type="String")
    configure(SITE_URL="", SITE_URL_PARAMETER="/magiclink/site-url")

    assert links.site_root() == f"{SITE}/"
    assert links.on_site(f"{SITE}/guide/") and not links.on_site("https://evil.example/guide/")


@pytest.mark.parametrize("minutes", ["4", "527041", "ten"])
def test_site_session_minutes_is_bounded(configure, minutes):
    from pydantic import ValidationError

    from magiclink.settings import get_settings

    configure(SITE_SESSION_MINUTES=minutes, TABLE_NAME="t", CREDENTIALS_SECRET_ID="c", TOKEN_KEY_SECRET_ID="k")
    with pytest.raises(ValidationError):
        get_settings()


@pytest.mark.parametrize(
    ("redirect_urls", "form", "expected"),
    [
        ("http://127.0.0.1:3000/_local/callback", {"next": "/guide/"}, f"{SITE}/guide/"),  # the gate's next
        ("http://127.0.0.1:3000/_local/callback", {}, "http://127.0.0.1:3000/_local/callback"),  # an app's reader
        ("", {}, f"{SITE}/"),  # the site is all the deployment serves
    ],
)
def test_where_an_access_form_link_goes(api, outbox, site, configure, clock, redirect_urls, form, expected):
    configure(REDIRECT_URLS=redirect_urls)
    api.invite("ada@example.com", delivery="none", invite_magic_link_url=f"{SITE}/")
    clock.advance(61)

    reply = api.send("access_submit", raw_body=urlencode({"email": "ada@example.com", **form}))

    assert reply.status == 200
    (reader,) = [i for i in table_items() if i["sk"]["S"] == "USER"]
    assert reader["link_url"]["S"] == expected
