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


# What browsers send with the Continue press of the landing page itself (its no-referrer policy makes
# Chromium say `Origin: null`, with Sec-Fetch-Site vouching for it), and what clients without them send.
SAME_ORIGIN = [
    {"sec-fetch-site": "same-origin", "origin": "null"},
    {"sec-fetch-site": "same-origin", "origin": "http://127.0.0.1:3000"},
    {"sec-fetch-site": "none"},
    {"origin": "http://127.0.0.1:3000"},
    {},  # curl, a script: not a browser, so no other site can have made it post
]
CROSS_SITE = [
    {"origin": "https://evil.example"},
    {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
    {"sec-fetch-site": "same-site", "origin": "http://127.0.0.1:3001"},  # another port is another origin
    {"sec-fetch-site": "cross-site"},
    {"origin": "null"},  # a sandboxed frame, from a browser too old to send Sec-Fetch-Site
    {"sec-fetch-site": "same-origin", "origin": "https://evil.example"},
]


def _continue_with(api, token: str, headers: dict[str, str]):
    from support import event

    sent = event("landing_continue", raw_body=urlencode({"token": token}))
    sent["headers"].update(headers)
    return api.deliver(sent)


@pytest.mark.parametrize("headers", SAME_ORIGIN)
def test_continue_from_the_page_itself_signs_in(api, outbox, headers):
    api.invite(session_duration_minutes=60)

    reply = _continue_with(api, last_token(outbox), headers)

    assert reply.status == 303 and "#session_token=" in reply.headers["Location"]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_another_site_posting_a_link_is_refused_with_a_page_and_nothing_spent(api, outbox, headers):
    # The attacker's own hosted-mode link, posted from their page in the victim's browser (login CSRF)
    api.invite("mallory@example.com", session_duration_minutes=60)
    token = last_token(outbox)

    reply = _continue_with(api, token, headers)

    assert reply.status == 403 and "Location" not in reply.headers
    assert "sent from another website" in reply.body and "nobody was signed in" in reply.body
    assert reply.headers["Content-Type"].startswith("text/html") and "<script" not in reply.body
    reader = api.readers(email="mallory@example.com").body["readers"][0]
    assert reader["status"] == "pending" and reader["link_state"] == "active"  # no session, link unspent
    assert _continue_with(api, token, SAME_ORIGIN[0]).status == 303  # the link still works from its page
