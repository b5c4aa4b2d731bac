"""Stytch's own Python SDK's email OTP methods against `make run`'s server: otps.email.send and
otps.email.login_or_create send the code (read back here from the local outbox, as a reader reads it in the
email), otps.authenticate signs in with it. The SDK parses every answer with its own strict models (it raises
if one does not fit), and raises StytchError with Stytch's error_type on errors."""

from __future__ import annotations

import asyncio

import pytest
import stytch
from stytch.core.response_base import StytchError
from support import request
from support import stytch_error as _error

from local import stack


@pytest.fixture(scope="module")
def client(server) -> stytch.Client:
    base, _ = server
    project_id, secret = stack.credentials()
    return stytch.Client(project_id=project_id, secret=secret, environment=f"{base}/")


def _last_code(client: stytch.Client, email: str) -> str:
    _, outbox = request("GET", f"{client.api_base.base_url}_local/outbox.json", auth=False)
    (code,) = next(mail["codes"] for mail in reversed(outbox) if mail["to"] == [email])
    return code


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_otps_email_send_then_authenticate_starts_a_session_the_sdk_verifies(client):
    user_id = client.users.create(email="sdk-otp@example.com").user_id

    sent = client.otps.email.send(email="sdk-otp@example.com", expiration_minutes=5)
    assert sent.user_id == user_id and sent.email_id.startswith("email-test-")
    code = _last_code(client, "sdk-otp@example.com")

    done = client.otps.authenticate(method_id=sent.email_id, code=code, session_duration_minutes=60)
    assert (done.user_id, done.method_id) == (user_id, sent.email_id)
    assert done.user.status == "active" and done.session_token and done.session is not None
    assert [f.type for f in done.session.authentication_factors] == ["otp"]
    local = client.sessions.authenticate_jwt_local(session_jwt=done.session_jwt)  # the SDK checks the JWT itself
    assert local.session_id == done.session.session_id and local.user_id == user_id
    remote = client.sessions.authenticate(session_token=done.session_token)
    assert remote.session.session_id == done.session.session_id

    # The code is spent: the same code again gets the wrong code's answer
    again = lambda: client.otps.authenticate(method_id=sent.email_id, code=code)  # noqa: E731
    assert _error(again) == (404, "otp_code_not_found")


def test_otps_authenticate_refuses_a_wrong_code_and_keeps_the_right_one(client):
    client.users.create(email="sdk-otp-wrong@example.com")
    sent = client.otps.email.send(email="sdk-otp-wrong@example.com")
    code = _last_code(client, "sdk-otp-wrong@example.com")

    wrong = lambda: client.otps.authenticate(method_id=sent.email_id, code=_wrong(code))  # noqa: E731
    assert _error(wrong) == (404, "otp_code_not_found")
    nobody = "email-test-00000000-0000-4000-8000-000000000000"
    unknown = lambda: client.otps.authenticate(method_id=nobody, code=code)  # noqa: E731
    assert _error(unknown) == (404, "otp_code_not_found")

    done = client.otps.authenticate(method_id=sent.email_id, code=code)  # one wrong try does not end the code
    assert done.method_id == sent.email_id and done.session is None


def test_otps_email_login_or_create_logs_a_known_email_in_and_refuses_strangers_when_invite_only(client):
    user_id = client.users.create(email="sdk-otp-known@example.com").user_id

    known = client.otps.email.login_or_create(email="sdk-otp-known@example.com", expiration_minutes=10)
    assert (known.user_id, known.user_created) == (user_id, False) and known.email_id
    done = client.otps.authenticate(
        method_id=known.email_id, code=_last_code(client, "sdk-otp-known@example.com"), session_duration_minutes=30
    )
    assert done.user_id == user_id and done.session.user_id == user_id

    stranger = lambda: client.otps.email.login_or_create(email="sdk-otp-stranger@example.com")  # noqa: E731
    assert _error(stranger) == (403, "signup_not_allowed")


def test_the_async_client_does_the_same(server):
    base, _ = server

    async def run() -> None:
        project_id, secret = stack.credentials()
        client = stytch.Client(project_id=project_id, secret=secret, environment=f"{base}/")
        try:
            await client.users.create_async(email="sdk-otp-async@example.com")
            sent = await client.otps.email.login_or_create_async(email="sdk-otp-async@example.com")
            code = _last_code(client, "sdk-otp-async@example.com")
            with pytest.raises(StytchError) as refused:
                await client.otps.authenticate_async(method_id=sent.email_id, code=_wrong(code))
            assert refused.value.details.error_type == "otp_code_not_found"
            done = await client.otps.authenticate_async(method_id=sent.email_id, code=code, session_duration_minutes=5)
            assert done.session_jwt and done.user_id == sent.user_id
        finally:
            await client.close()

    asyncio.run(run())
