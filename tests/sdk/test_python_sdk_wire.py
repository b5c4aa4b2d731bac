"""Stytch's own Python SDK against `make run`'s base: what it sends (nulls, telemetry and RBAC fields, send's
user and session fields) is accepted, and each refusal carries the error_type Stytch's docs name."""

from __future__ import annotations

import asyncio
import itertools
import time
import warnings
from urllib.parse import parse_qs, urlsplit

import pytest
from stytch import Client
from stytch.consumer.models.magic_links import Options
from stytch.consumer.models.sessions import AuthorizationCheck
from stytch.consumer.models.users import Name
from stytch.core.response_base import StytchError
from support import request as _request

from local import stack

_emails = (f"sdk-wire-{n}@example.com" for n in itertools.count())


@pytest.fixture(scope="module")
def base(server):
    return server[0]


@pytest.fixture
def client(base):
    project_id, secret = stack.credentials()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The SDK takes `environment` verbatim as the base URL (custom_base_url must be https://).
        yield Client(project_id, secret, environment=f"{base}/")


def _token(base: str, email: str) -> str:
    _, outbox = _request("GET", f"{base}/_local/outbox.json", auth=False)
    link = [m for m in outbox if m["to"] == [email]][-1]["links"][0]
    return parse_qs(urlsplit(link).query)["token"][0]


def _error_type(call) -> str:
    with pytest.raises(StytchError) as raised:
        call()
    return raised.value.details.error_type


def test_an_invite_with_the_sdks_name_model_sends_nulls_and_is_accepted(client, base):
    # Name(first_name=...) serialises middle_name and last_name as null
    email = next(_emails)
    invited = client.magic_links.email.invite(email=email, name=Name(first_name="Ada"))
    assert invited.status_code == 200 and invited.user_id.startswith("user-test-")

    done = client.magic_links.authenticate(
        token=_token(base, email),
        session_duration_minutes=60,
        options=Options(ip_match_required=False, user_agent_match_required=False),
        telemetry_id="telemetry-1",  # a Stytch-only product: accepted and ignored
    )
    assert done.user.name.first_name == "Ada" and done.user.name.last_name == ""
    checked = client.sessions.authenticate(
        session_token=done.session_token,
        authorization_check=AuthorizationCheck(organization_id="org-1", resource_id="docs", action="read"),
    )
    assert checked.session.session_id == done.session.session_id


def test_send_takes_the_users_own_user_id_and_session_and_refuses_another_user(client, base):
    email, other = next(_emails), next(_emails)
    client.magic_links.email.invite(email=email)
    done = client.magic_links.authenticate(token=_token(base, email), session_duration_minutes=60)
    client.magic_links.email.invite(email=other)
    other_user = client.magic_links.authenticate(token=_token(base, other), session_duration_minutes=60)

    time.sleep(1.05)  # the one-a-second limit per email is a rolling second: the invite was just now
    sent = client.magic_links.email.send(email=email, user_id=done.user_id)
    assert sent.status_code == 200 and sent.user_id == done.user_id
    assert _error_type(lambda: client.magic_links.email.send(email=email, user_id=other_user.user_id)) == (
        "duplicate_email"
    )
    assert _error_type(lambda: client.magic_links.email.send(email=email, session_token=other_user.session_token)) == (
        "duplicate_email"
    )


def test_refusals_carry_stytchs_error_names(client, base):
    email = next(_emails)
    invite = client.magic_links.email.invite
    assert _error_type(lambda: invite(email=email, invite_expiration_minutes=4)) == "invalid_expiration"
    assert _error_type(lambda: client.magic_links.email.send(email=email, login_expiration_minutes=10081)) == (
        "invalid_expiration"
    )
    assert _error_type(
        lambda: client.magic_links.email.send(email=email, login_magic_link_url="https://evil.example/")
    ) == ("invalid_login_magic_link_url")

    invite(email=email)
    token = _token(base, email)
    authenticate = client.magic_links.authenticate
    assert _error_type(lambda: authenticate(token=token, session_duration_minutes=2)) == (
        "invalid_session_duration_minutes"
    )
    assert _error_type(lambda: authenticate(token=token, code_verifier="v" * 43)) == (
        "pkce_did_not_expect_code_verifier"
    )
    done = authenticate(token=token, session_duration_minutes=60)  # none of the above spent the link

    sessions = client.sessions
    assert _error_type(lambda: sessions.authenticate()) == "no_session_arguments"
    assert _error_type(
        lambda: sessions.authenticate(session_token=done.session_token, session_jwt=done.session_jwt)
    ) == ("too_many_session_arguments")
    assert _error_type(lambda: sessions.revoke()) == "no_session_revoke_arguments"
    assert _error_type(
        lambda: sessions.revoke(session_id=done.session.session_id, session_token=done.session_token)
    ) == ("too_many_session_arguments")
    assert sessions.revoke(session_token=done.session_token).status_code == 200


def test_the_async_client_invites_and_authenticates(client, base):
    email = next(_emails)

    async def flow():
        invited = await client.magic_links.email.invite_async(email=email, name=Name(last_name="Lovelace"))
        done = await client.magic_links.authenticate_async(token=_token(base, email), telemetry_id="t")
        await client.async_client.close()
        return invited, done

    invited, done = asyncio.run(flow())
    assert done.user_id == invited.user_id and done.user.name.last_name == "Lovelace"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/no_such_thing"), ("GET", "/v1/magic_links/email/invite"), ("DELETE", "/v1/magic_links/authenticate")],
)
def test_an_unknown_route_or_method_answers_stytchs_error_json(base, method, path):
    status, body = _request(method, f"{base}{path}", auth=False)
    assert status == 404
    assert body["error_type"] == "route_not_found" and body["request_id"].startswith("request-id-")
    assert set(body) == {"status_code", "request_id", "error_type", "error_message", "error_url"}


def test_an_sdk_method_this_service_does_not_serve_raises_a_readable_stytch_error(client):
    with pytest.raises(StytchError) as raised:
        client.passwords.strength_check(password="correct horse battery staple")
    assert raised.value.details.error_type == "route_not_found" and raised.value.details.request_id


def _session(client, base, claims=None):
    email = next(_emails)
    client.magic_links.email.invite(email=email)
    return client.magic_links.authenticate(
        token=_token(base, email), session_duration_minutes=60, session_custom_claims=claims
    )


def test_custom_claims_follow_stytchs_rules(client, base):
    done = _session(client, base, {"a": 1, "b": {"x": 1, "y": 2}, "exp": 1, "magiclink/grant": "forged"})
    grant = {"id": done.session.custom_claims["magiclink/grant"]["id"], "role": "reader"}
    assert done.session.custom_claims == {"a": 1, "b": {"x": 1, "y": 2}, "magiclink/grant": grant}

    # A new value updates its key (objects key by key), null deletes, reserved claims are ignored
    update = {"a": None, "b": {"x": None, "z": 3}, "c": "new", "iss": "https://evil.example", "sub": "someone"}
    updated = client.sessions.authenticate(session_token=done.session_token, session_custom_claims=update)
    assert updated.session.custom_claims == {"b": {"y": 2, "z": 3}, "c": "new", "magiclink/grant": grant}

    # The service's own claims read the same through a remote call and the SDK's local JWT verification
    local = client.sessions.authenticate_jwt_local(session_jwt=updated.session_jwt)
    assert local.custom_claims == updated.session.custom_claims
    assert local.roles == updated.session.roles == ["reader"]


def test_claims_over_4_kb_are_refused_before_anything_is_written(client, base):
    done = _session(client, base, {"keep": True})
    big = {"big": "x" * 4100}
    assert _error_type(
        lambda: client.sessions.authenticate(session_token=done.session_token, session_custom_claims=big)
    ) == ("invalid_session_custom_claims")
    assert client.sessions.authenticate(session_token=done.session_token).session.custom_claims["keep"] is True

    # Through a magic link that extends the session: refused, and the link is not spent
    email = done.user.emails[0].email
    time.sleep(1.05)  # a rolling second after the invite
    client.magic_links.email.send(email=email)
    token = _token(base, email)
    authenticate = client.magic_links.authenticate
    assert _error_type(
        lambda: authenticate(token=token, session_token=done.session_token, session_custom_claims=big)
    ) == ("invalid_session_custom_claims")
    extended = authenticate(token=token, session_token=done.session_token, session_custom_claims={"more": 1})
    assert extended.session.custom_claims["keep"] is True and extended.session.custom_claims["more"] == 1
