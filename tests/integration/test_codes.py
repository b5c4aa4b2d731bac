"""The one-time code beside every emailed link: either signs the person in, both are spent together, guessing
is bounded, and Stytch's email OTP endpoints (POST /v1/otps/email/send, /login_or_create, /v1/otps/authenticate)
answer as Stytch does."""

from __future__ import annotations

import re

import pytest
from stytch.consumer.models.otp import AuthenticateResponse as OtpAuthenticateResponse
from stytch.consumer.models.otp_email import LoginOrCreateResponse, SendResponse
from support import last_token, table_items

from magiclink.models.items import MAX_CODE_TRIES


def last_code(outbox) -> str:
    (code,) = outbox.messages()[-1].codes
    return code


def otp(api, method_id: str, code: str, **fields):
    return api.send("otp_authenticate", {"method_id": method_id, "code": code, **fields})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _reader_item(email: str = "ada@example.com") -> dict:
    (item,) = [i for i in table_items() if i["sk"]["S"] == "USER" and i["email"]["S"] == email]
    return item


def test_an_invites_code_signs_in_with_a_session_through_the_otp_api(api, outbox):
    invited = api.invite("ada@example.com").body

    reply = otp(api, invited["email_id"], last_code(outbox), session_duration_minutes=60)

    assert reply.status == 200, reply.body
    parsed = OtpAuthenticateResponse.from_json(reply.status, reply.body)  # Stytch's SDK model
    assert (parsed.user_id, parsed.method_id) == (invited["user_id"], invited["email_id"])
    assert parsed.session_token and parsed.session_jwt and parsed.user.status == "active"
    assert reply.body["session"]["authentication_factors"][0]["type"] == "otp"


def test_every_kind_of_link_email_carries_a_code_that_works(api, outbox, configure, clock):
    """Invite, send, re-link and self-service: each email's code signs its reader in (the console's sign-in
    email is tested with the console)."""
    configure(REQUEST_COOLDOWN_SECONDS="1")
    email_id = api.invite("ada@example.com").body["email_id"]
    codes = [last_code(outbox)]
    clock.advance(2)
    api.send("send", {"email": "ada@example.com"})
    codes.append(last_code(outbox))
    clock.advance(2)
    api.new_link("ada@example.com")
    codes.append(last_code(outbox))
    clock.advance(2)
    assert api.request_link("ada@example.com").status == 200
    codes.append(last_code(outbox))

    assert all(re.fullmatch(r"[0-9]{6}", code) for code in codes) and len(outbox.messages()) == 4
    for older in codes[:-1]:  # each newer link ended the older link's code
        assert otp(api, email_id, older).body.get("error_type") == "otp_code_not_found"
    assert otp(api, email_id, codes[-1]).status == 200


def test_code_and_link_are_one_credential(api, outbox, clock):
    email_id = api.invite("ada@example.com").body["email_id"]
    token, code = last_token(outbox), last_code(outbox)
    assert otp(api, email_id, code).status == 200
    assert api.authenticate(token).body["error_type"] == "unable_to_auth_magic_link"  # the code spent the link

    clock.advance(2)
    api.send("send", {"email": "ada@example.com"})
    token, code = last_token(outbox), last_code(outbox)
    assert api.authenticate(token).status == 200
    assert otp(api, email_id, code).body["error_type"] == "otp_code_not_found"  # the link spent the code


def test_a_reusable_links_code_ends_the_link_too(api, outbox):
    email_id = api.invite("ada@example.com", reusable=True).body["email_id"]
    token, code = last_token(outbox), last_code(outbox)

    assert otp(api, email_id, code).status == 200
    assert api.authenticate(token).status == 401


def test_five_wrong_codes_kill_the_code_and_its_link_and_a_new_link_works(api, outbox, clock):
    email_id = api.invite("ada@example.com").body["email_id"]
    token, code = last_token(outbox), last_code(outbox)

    for _ in range(MAX_CODE_TRIES):
        assert otp(api, email_id, wrong(code)).body["error_type"] == "otp_code_not_found"

    assert otp(api, email_id, code).body["error_type"] == "otp_code_not_found"  # the right code, too late
    assert api.authenticate(token).status == 401
    (row,) = api.readers().body["readers"]
    assert row["link_state"] == "deactivated"
    assert _reader_item()["code_tries"]["N"] == str(MAX_CODE_TRIES)  # the sixth was not even counted

    clock.advance(2)
    api.new_link("ada@example.com")
    assert otp(api, email_id, last_code(outbox)).status == 200


def test_four_wrong_codes_leave_the_right_one_working(api, outbox):
    email_id = api.invite("ada@example.com").body["email_id"]
    code = last_code(outbox)
    for _ in range(MAX_CODE_TRIES - 1):
        otp(api, email_id, wrong(code))

    assert otp(api, email_id, code).status == 200


def test_the_code_lives_as_long_as_its_link_at_most_code_lifetime_minutes(api, outbox, clock, configure):
    configure(CODE_LIFETIME_MINUTES="10")
    email_id = api.invite("ada@example.com", invite_expiration_minutes=60).body["email_id"]
    token, code = last_token(outbox), last_code(outbox)
    assert "10 minutes" in outbox.messages()[-1].text

    clock.advance(10 * 60 + 1)

    assert otp(api, email_id, code).body["error_type"] == "otp_code_not_found"
    assert api.authenticate(token).status == 200  # the link lives its hour

    clock.advance(2)
    api.send("send", {"email": "ada@example.com", "login_expiration_minutes": 5})
    code = last_code(outbox)
    assert "5 minutes" in outbox.messages()[-1].text  # never longer than its link
    clock.advance(5 * 60 + 1)
    assert otp(api, email_id, code).status == 404


def test_deactivating_or_revoking_ends_the_code(api, outbox, clock):
    email_id = api.invite("ada@example.com").body["email_id"]
    code = last_code(outbox)
    api.deactivate("ada@example.com")
    assert otp(api, email_id, code).status == 404

    clock.advance(2)
    api.new_link("ada@example.com")
    code = last_code(outbox)
    api.revoke_access("ada@example.com")
    assert otp(api, email_id, code).status == 404


def test_only_a_keyed_hash_of_the_code_is_stored_and_a_returned_link_has_none(api, outbox):
    api.invite("ada@example.com")
    code = last_code(outbox)
    item = _reader_item()
    assert re.fullmatch(r"[0-9a-f]{64}", item["code_hash"]["S"])
    assert code not in str(item)

    api.invite("bob@example.com", delivery="none")
    assert "code_hash" not in _reader_item("bob@example.com")


@pytest.mark.parametrize(
    "method_id, code",
    [("email-test-00000000-0000-4000-8000-000000000000", "123456"), ("nobody", "123456"), (None, "12345")],
)
def test_an_unknown_method_or_a_malformed_code_is_otp_code_not_found(api, outbox, method_id, code):
    email_id = api.invite("ada@example.com").body["email_id"]

    reply = otp(api, method_id or email_id, code)

    assert (reply.status, reply.body["error_type"]) == (404, "otp_code_not_found")
    assert _reader_item().get("code_tries", {"N": "0"}) == {"N": "0"}  # nothing to try: no try counted


def test_otp_send_emails_a_code_for_a_reader_and_login_or_create_follows_the_signup_policy(
    api, outbox, configure, clock
):
    invited = api.invite("ada@example.com").body
    clock.advance(2)
    reply = api.send("otp_send", {"email": "ada@example.com", "expiration_minutes": 3, "locale": "fr"})

    assert reply.status == 200, reply.body
    parsed = SendResponse.from_json(reply.status, reply.body)
    assert (parsed.user_id, parsed.email_id) == (invited["user_id"], invited["email_id"])
    assert "3 minutes" in outbox.messages()[-1].text  # French: the same words
    assert otp(api, parsed.email_id, last_code(outbox), session_duration_minutes=5).status == 200

    assert api.send("otp_send", {"email": "ada@example.com", "expiration_minutes": 11}).status == 400
    assert api.send("otp_send", {"email": "nobody@example.com"}).body["error_type"] == "email_not_found"

    refused = api.send("otp_login_or_create", {"email": "new@example.com"})
    assert refused.body["error_type"] == "signup_not_allowed"
    configure(SIGNUP_POLICY="open")
    created = api.send("otp_login_or_create", {"email": "new@example.com", "create_user_as_pending": True})
    assert created.status == 200, created.body
    parsed = LoginOrCreateResponse.from_json(created.status, created.body)
    assert parsed.user_created is True
    assert otp(api, parsed.email_id, last_code(outbox)).status == 200
    clock.advance(2)
    again = api.send("otp_login_or_create", {"email": "new@example.com"})
    assert again.body["user_created"] is False


def test_a_code_can_extend_a_session_and_checks_the_device_when_asked(api, outbox, clock):
    email_id = api.invite("ada@example.com", attributes={"ip_address": "203.0.113.9"}).body["email_id"]
    first = otp(api, email_id, last_code(outbox), session_duration_minutes=60).body
    clock.advance(2)
    api.send("send", {"email": "ada@example.com"})
    code = last_code(outbox)

    other_device = otp(
        api, email_id, code, options={"ip_match_required": True}, attributes={"ip_address": "198.51.100.1"}
    )
    assert other_device.status == 401

    extended = otp(api, email_id, code, session_token=first["session_token"], session_duration_minutes=120)
    assert extended.status == 200, extended.body
    assert extended.body["session"]["session_id"] == first["session"]["session_id"]
