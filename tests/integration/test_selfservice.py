"""Public: readers ask for a link; strangers get the deployment's message and can ask the owner."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from support import event, last_token, table_items


@pytest.fixture
def owner(configure):
    configure(NOTIFY_OWNER="true", OWNER_EMAIL="owner@example.com")


def _grant_query(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def test_a_stranger_gets_the_configured_message_sanitised_and_nothing_is_sent(api, outbox, configure):
    configure(
        ACCESS_REQUEST_MESSAGE=(
            'Ask <a href="mailto:docs@example.com" onclick="steal()">docs@example.com</a>'
            "<script>alert(1)</script><img src=x onerror=alert(1)> <b>now</b>"
        )
    )

    reply = api.request_link("stranger@example.com")

    assert reply.status == 200
    assert reply.body["outcome"] == "no_access"
    message = reply.body["message_html"]
    assert '<a href="mailto:docs@example.com" rel="noopener noreferrer">docs@example.com</a>' in message
    assert "<b>now</b>" in message
    assert "script" not in message and "onclick" not in message and "<img" not in message
    assert outbox.messages() == []
    requests = [i for i in table_items() if i["sk"]["S"] == "REQUEST"]
    assert [r["email"]["S"] for r in requests] == ["stranger@example.com"]


def test_the_owner_is_asked_and_grants_access_in_one_click(api, outbox, owner, clock):
    # Given a stranger asks for access
    reply = api.request_link("stranger@example.com")
    assert reply.body["outcome"] == "access_requested"

    # Then the owner gets an email with a grant link that points back at the service
    (mail,) = outbox.messages()
    assert mail.to == ["owner@example.com"]
    assert "stranger@example.com" in mail.subject
    grant_link = mail.links[0]
    assert grant_link.startswith("http://127.0.0.1:3000/v1/access_requests/grant?")

    # When the owner opens it, a confirmation page asks before anything happens
    query = _grant_query(grant_link)
    page = api.send("access_grant_confirm", query=query)
    assert page.status == 200 and "Grant access" in page.body and "stranger@example.com" in page.body
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert [i for i in table_items() if i["sk"]["S"] == "USER"] == []

    # When the owner confirms, the stranger is invited and can sign in
    body = "&".join(f"{k}={v}" for k, v in query.items()).replace("@", "%40")
    done = api.send("access_grant_submit", raw_body=body)
    assert done.status == 200 and "has access" in done.body
    invite = outbox.messages()[-1]
    assert invite.to == ["stranger@example.com"]
    assert api.authenticate(last_token(outbox)).status == 200
    (request,) = [i for i in table_items() if i["sk"]["S"] == "REQUEST"]
    assert request["request_status"]["S"] == "granted"


@pytest.mark.parametrize("tamper", ["email", "expires", "sig"])
def test_a_forged_grant_link_grants_nothing(api, outbox, owner, tamper):
    api.request_link("stranger@example.com")
    query = _grant_query(outbox.messages()[0].links[0])
    query[tamper] = {"email": "eve@example.com", "expires": "9999999999", "sig": "0" * 64}[tamper]

    page = api.send("access_grant_confirm", query=query)
    body = "&".join(f"{k}={v}" for k, v in query.items()).replace("@", "%40")
    submitted = api.send("access_grant_submit", raw_body=body)

    assert page.status == 403 and submitted.status == 403
    assert [i for i in table_items() if i["sk"]["S"] == "USER"] == []


def test_an_expired_grant_link_grants_nothing(api, outbox, owner, clock):
    api.request_link("stranger@example.com")
    query = _grant_query(outbox.messages()[0].links[0])
    clock.advance(8 * 86400)

    assert api.send("access_grant_confirm", query=query).status == 403


def test_asking_again_within_the_cooldown_is_429(api, outbox, owner, clock):
    assert api.request_link("stranger@example.com").status == 200
    again = api.request_link("stranger@example.com")
    assert again.status == 429
    assert again.body["error_type"] == "too_many_requests"
    assert int(again.headers["Retry-After"]) > 0
    assert len(outbox.messages()) == 1

    clock.advance(61)
    assert api.request_link("stranger@example.com").status == 200
    assert len(outbox.messages()) == 2


def test_a_reader_gets_a_new_link_and_the_old_one_stops(api, outbox, clock):
    api.invite("ada@example.com")
    old = last_token(outbox)
    clock.advance(61)

    reply = api.request_link("ada@example.com")

    assert reply.body["outcome"] == "link_sent"
    assert outbox.messages()[-1].subject.startswith("Your sign-in link")
    assert api.authenticate(old).status == 401
    assert api.authenticate(last_token(outbox)).status == 200


@pytest.mark.parametrize(
    ("link", "answer"),
    [
        ("still working", 429),
        ("reusable, used and still working", 429),
        ("deactivated by an admin", 200),
        ("used", 200),
        ("expired", 200),
    ],
)
def test_the_cooldown_counts_only_a_link_that_still_works(api, outbox, clock, configure, link, answer):
    # Given a reader whose link was issued within the cooldown (10 minutes here: longer than the link lives)
    configure(REQUEST_COOLDOWN_SECONDS="600")
    api.invite("ada@example.com", invite_expiration_minutes=5, reusable=link.startswith("reusable"))
    token = last_token(outbox)
    if link == "deactivated by an admin":
        assert api.deactivate("ada@example.com").status == 200
    if "used" in link:
        assert api.authenticate(token).status == 200
    if link == "expired":
        clock.advance(5 * 60)

    # When they ask for a new link at once
    reply = api.request_link("ada@example.com")

    # Then only a link that still works holds them back; otherwise the new link is sent and works
    assert reply.status == answer, reply.body
    if answer == 429:
        assert int(reply.headers["Retry-After"]) > 0
        assert len(outbox.messages()) == 1
    else:
        assert reply.body["outcome"] == "link_sent"
        assert api.authenticate(last_token(outbox)).status == 200


def test_uniform_mode_answers_alike_after_the_same_time(api, outbox, configure, monkeypatch, clock):
    configure(REQUEST_RESPONSE_MODE="uniform", UNIFORM_RESPONSE_MS="1500")
    api.invite("ada@example.com", delivery="none")
    clock.advance(61)

    # A fake monotonic clock that only moves when the service sleeps, plus a little per call,
    # so we can see how long each answer was held.
    elapsed = {"t": 0.0}
    monkeypatch.setattr(time, "monotonic", lambda: elapsed.__setitem__("t", elapsed["t"] + 0.01) or elapsed["t"])
    monkeypatch.setattr(time, "sleep", lambda seconds: elapsed.__setitem__("t", elapsed["t"] + seconds))

    answers = {}
    for email in ("ada@example.com", "stranger@example.com"):
        start = elapsed["t"]
        reply = api.request_link(email)
        answers[email] = (reply.status, reply.body["outcome"], reply.body["message_html"])
        assert elapsed["t"] - start >= 1.5

    assert answers["ada@example.com"] == answers["stranger@example.com"]
    assert answers["ada@example.com"][1] == "accepted"
    assert outbox.messages()[-1].to == ["ada@example.com"]  # the reader still got the link


def test_the_access_form_works_without_javascript(api, outbox, clock):
    page = api.send("access_form")
    assert page.status == 200
    assert '<form method="post" action="/access">' in page.body and "<script" not in page.body
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]

    api.invite("ada@example.com", delivery="none")
    clock.advance(61)
    sent = api.send("access_submit", raw_body="email=ada%40example.com")
    assert sent.status == 200 and "on its way" in sent.body
    assert outbox.messages()[-1].to == ["ada@example.com"]

    bad = api.send("access_submit", raw_body="email=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert bad.status == 400
    assert "<script>alert(1)" not in bad.body and "&lt;script&gt;" in bad.body


def test_a_revoked_reader_gets_no_link(api, outbox, clock):
    api.invite("ada@example.com", delivery="none")
    api.revoke_access("ada@example.com")
    clock.advance(61)

    reply = api.request_link("ada@example.com")

    assert reply.body["outcome"] == "no_access"
    assert outbox.messages() == []


def test_the_request_endpoint_is_public_but_validates(api):
    reply = api.send("request_link", {"email": "nope"})
    assert reply.status == 400 and reply.body["error_type"] == "invalid_email"
    sent = event("request_link", {"email": "ada@example.com"})
    assert "authorization" not in sent["headers"]
