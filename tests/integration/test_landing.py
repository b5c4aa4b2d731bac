"""The page an emailed link opens: scanners can open it all day; only the person's Continue uses the token."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from support import last_token

SCANNERS = [
    "Microsoft Office Existence Discovery",
    "Mozilla/5.0 (compatible; Microsoft Defender SafeLinks)",
    "Mimecast-URL-Protect/1.0",
    "Barracuda Sentinel (EE)",
    "curl/8.5.0",
]


def _open(api, token: str, method: str = "GET", user_agent: str = "Mozilla/5.0"):
    from support import event

    sent = event("landing_show", query={"token": token})
    sent["requestContext"]["http"]["method"] = method
    sent["headers"]["user-agent"] = user_agent
    return api.deliver(sent)


def _continue(api, token: str):
    return api.send("landing_continue", raw_body=urlencode({"token": token}))


def test_a_scanner_flood_spends_nothing_and_the_person_still_gets_in(api, outbox, monkeypatch):
    api.invite(name={"first_name": "Ada <b>"}, inviter_name="Grace from Acme")
    token = last_token(outbox)

    for user_agent in SCANNERS:
        for method in ("GET", "HEAD"):
            reply = _open(api, token, method, user_agent)
            assert reply.status == 200
            if method == "HEAD":
                assert reply.body == ""

    page = _open(api, token)
    assert "Continue" in page.body and "Magic Link" in page.body and "Invited by Grace from Acme" in page.body
    assert "Ada &lt;b&gt;" in page.body and "Ada <b>" not in page.body
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "<script" not in page.body

    # App mode (Stytch's): Continue forwards the token to invite_magic_link_url, unspent
    forwarded = _continue(api, token)
    assert forwarded.status == 303
    location = forwarded.headers["Location"]
    assert location.startswith("http://127.0.0.1:3000/_local/callback?")
    query = parse_qs(urlsplit(location).query)
    assert query["token"] == [token] and query["stytch_token_type"] == ["magic_links"]
    assert api.authenticate(token).status == 200  # the app backend authenticates it


def test_hosted_mode_authenticates_and_hands_the_session_over_in_the_fragment(api, outbox):
    api.invite(session_duration_minutes=120)
    token = last_token(outbox)

    reply = _continue(api, token)

    assert reply.status == 303
    target, _, fragment = reply.headers["Location"].partition("#")
    assert target == "http://127.0.0.1:3000/_local/callback"
    assert "?" not in target  # nothing secret in the query string, which servers log
    handed = parse_qs(fragment)
    session = api.send("sessions_authenticate", {"session_token": handed["session_token"][0]})
    assert session.status == 200 and session.body["user"]["status"] == "active"
    assert handed["session_jwt"][0].count(".") == 2

    # The token is spent now: a second Continue shows the friendly page, never a stack trace
    again = _continue(api, token)
    assert again.status == 410
    assert "no longer works" in again.body and 'action="/access"' in again.body


@pytest.mark.parametrize("token", ["", "garbage", "A" * 64, "A" * 600])
def test_a_bad_or_spent_link_shows_the_request_form(api, token):
    reply = _open(api, token)
    assert reply.status in (200, 400)
    if reply.status == 200:
        assert "no longer works" in reply.body and "Send me a new link" in reply.body


def test_a_used_link_opened_later_offers_a_new_one(api, outbox):
    api.invite()
    token = last_token(outbox)
    api.authenticate(token)

    page = _open(api, token)

    assert page.status == 200 and "no longer works" in page.body


def test_continue_with_a_revoked_link_is_refused(api, outbox):
    api.invite()
    token = last_token(outbox)
    api.revoke()

    assert _continue(api, token).status == 410
