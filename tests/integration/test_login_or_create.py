"""POST /v1/magic_links/email/login_or_create: a login link for a known email; an unknown one as the
deployment's SignupPolicy says."""

from __future__ import annotations

import time

import pytest
from stytch.consumer.models.magic_links_email import LoginOrCreateResponse
from support import last_token, table_items


def _login_or_create(api, email: str = "ada@example.com", **fields):
    return api.send("login_or_create", {"email": email, **fields})


def _users() -> list[dict]:
    return [i for i in table_items() if i["sk"]["S"] in ("USER", "EMAIL")]


def test_a_known_reader_gets_a_login_link_whatever_the_policy(api, outbox, configure):
    for policy in ("invite_only", "open"):
        configure(SIGNUP_POLICY=policy)
        user_id = api.invite(f"{policy}@example.com").body["user_id"]
        assert api.authenticate(last_token(outbox)).status == 200

        reply = _login_or_create(api, f"{policy}@example.com", login_expiration_minutes=15, locale="es")

        assert reply.status == 200, reply.body
        parsed = LoginOrCreateResponse.from_json(reply.status, reply.body)  # Stytch's SDK model
        assert (parsed.user_id, parsed.user_created) == (user_id, False)
        mail = outbox.messages()[-1]
        assert mail.to == [f"{policy}@example.com"] and "15 minutos" in mail.text  # the login email, in Spanish
        assert api.authenticate(last_token(outbox)).status == 200


def test_invite_only_refuses_an_unknown_email_and_creates_and_sends_nothing(api, outbox):
    reply = _login_or_create(api, "stranger@example.com", create_user_as_pending=True)

    assert reply.status == 403
    assert reply.body["error_type"] == "signup_not_allowed" and "invite" in reply.body["error_message"]
    assert _users() == [] and outbox.messages() == []


def test_open_signs_an_unknown_email_up_as_a_pending_reader_with_an_invite(api, outbox, configure, clock):
    configure(SIGNUP_POLICY="open")

    reply = _login_or_create(
        api,
        "new@example.com",
        signup_expiration_minutes=30,
        signup_magic_link_url="http://127.0.0.1:3000/_local/callback",
        attributes={"ip_address": None, "user_agent": None},
    )

    assert reply.status == 200, reply.body
    parsed = LoginOrCreateResponse.from_json(reply.status, reply.body)
    assert parsed.user_created is True
    (row,) = api.readers().body["readers"]
    assert (row["user_id"], row["status"], row["role"]) == (parsed.user_id, "pending", "reader")
    (mail,) = outbox.messages()
    assert mail.to == ["new@example.com"] and "30 minutes" in mail.text  # the invite email, signup's expiry
    clock.advance(31 * 60)
    assert api.authenticate(last_token(outbox)).status == 401


def test_open_still_refuses_a_revoked_reader(api, outbox, configure):
    configure(SIGNUP_POLICY="open")
    api.invite()
    api.revoke_access("ada@example.com")

    reply = _login_or_create(api)

    assert reply.status == 400 and reply.body["error_type"] == "grant_not_active"


def test_login_or_create_counts_against_the_rate_limits_as_send(api, outbox, clock, rate_limits, configure):
    now = int(time.time())
    clock.freeze(now - now % 3600 + 100)
    configure(SIGNUP_POLICY="open")
    assert _login_or_create(api).status == 200

    again = _login_or_create(api)

    assert again.status == 429 and again.headers["Retry-After"] == "1"
    assert len(outbox.messages()) == 1


def test_an_unknown_email_counts_against_the_rate_limits_as_send_counts_it(api, clock, rate_limits):
    now = int(time.time())
    clock.freeze(now - now % 3600 + 100)
    assert _login_or_create(api, "stranger@example.com").status == 403

    probed = _login_or_create(api, "stranger@example.com")

    assert probed.status == 429 and probed.body["error_type"] == "too_many_requests"


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"login_expiration_minutes": 4}, "login_expiration_minutes"),
        ({"signup_expiration_minutes": 10081}, "signup_expiration_minutes"),
        ({"telemetry": "x"}, "telemetry"),
    ],
)
def test_out_of_range_or_unknown_fields_are_400_and_nothing_happens(api, outbox, fields, mentions):
    reply = _login_or_create(api, **fields)

    assert reply.status == 400 and mentions in reply.body["error_message"]
    assert table_items() == [] and outbox.messages() == []
