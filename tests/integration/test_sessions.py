"""Sessions: created by authenticate (one write), verified with the JWKS, ended by revoke or by the grant."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest
from stytch.consumer.models.magic_links import AuthenticateResponse
from stytch.consumer.models.sessions import AuthenticateResponse as SessionsAuthenticateResponse
from stytch.consumer.models.sessions import GetJWKSResponse
from stytch.shared import jwt_helpers
from support import last_token, token_of

BASE = "http://127.0.0.1:3000"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")


def _session(api, outbox, **fields):
    api.invite(delivery="none")
    url = api.invite(delivery="none").body["magic_link_url"]
    reply = api.authenticate(token_of(url), session_duration_minutes=60, **fields)
    assert reply.status == 200, reply.body
    return reply.body


def _jwks(api) -> dict:
    reply = api.send("jwks")
    assert reply.status == 200
    return reply.body


def _verify(api, token: str) -> dict:
    """What a protected site does: verify the JWT against the public JWKS with a standard library."""
    keys = {k["kid"]: k for k in _jwks(api)["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(
        token, key=jwt.PyJWK(keys[kid]).key, algorithms=["RS256"], audience="project-test-local", issuer=BASE
    )


def test_authenticate_with_a_duration_returns_a_session_in_one_write(api, outbox, aws_calls):
    api.invite(delivery="none")
    url = api.invite(delivery="none").body["magic_link_url"]
    aws_calls.clear()

    reply = api.authenticate(token_of(url), session_duration_minutes=60, session_custom_claims={"team": "docs"})

    assert reply.status == 200
    parsed = AuthenticateResponse.from_json(reply.status, reply.body)  # Stytch's SDK model
    assert parsed.session is not None and parsed.session.session_id.startswith("session-test-")
    # the caller's claims, beside the grant the service adds (as the JWT carries it)
    grant = {"id": reply.body["grant_id"], "role": "reader"}
    assert parsed.session.custom_claims == {"team": "docs", "magiclink/grant": grant}
    assert parsed.session.authentication_factors[0].email_factor.email_address == "ada@example.com"
    assert len(parsed.session_token) == 72 and parsed.session_jwt.count(".") == 2
    dynamodb_calls = {op: n for (service, op), n in aws_calls.items() if service == "dynamodb"}
    assert dynamodb_calls == {"UpdateItem": 1}


def test_the_jwt_verifies_against_the_jwks_with_a_standard_library(api, outbox):
    body = _session(api, outbox, session_custom_claims={"team": "docs"})

    claims = _verify(api, body["session_jwt"])

    assert claims["sub"] == body["user_id"]
    assert claims["aud"] == ["project-test-local"]
    assert claims["exp"] - claims["iat"] == 300
    assert claims["team"] == "docs"
    assert claims["magiclink/grant"] == {"id": body["grant_id"], "role": "reader"}
    assert claims["https://stytch.com/session"]["id"] == body["session"]["session_id"]


def test_stytchs_own_sdk_parses_the_jwks_and_verifies_the_jwt(api, outbox):
    body = _session(api, outbox)
    jwks = _jwks(api)
    GetJWKSResponse.from_json(200, jwks)  # Stytch's typed model of the JWKS response

    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt_helpers._authenticate_jwt_local(
        signing_key=key, project_id="project-test-local", jwt=body["session_jwt"], base_url=BASE + "/"
    )
    assert claims is not None and claims.reserved_claims["sub"] == body["user_id"]


def test_sessions_authenticate_by_token_or_jwt_then_revoke_ends_both(api, outbox):
    body = _session(api, outbox)

    by_token = api.send("sessions_authenticate", {"session_token": body["session_token"]})
    by_jwt = api.send("sessions_authenticate", {"session_jwt": body["session_jwt"]})
    assert by_token.status == 200 and by_jwt.status == 200
    SessionsAuthenticateResponse.from_json(200, by_token.body)
    assert by_token.body["session"]["session_id"] == body["session"]["session_id"]
    assert _verify(api, by_jwt.body["session_jwt"])["sub"] == body["user_id"]

    revoked = api.send("sessions_revoke", {"session_id": body["session"]["session_id"]})
    assert revoked.status == 200

    for field in ("session_token", "session_jwt"):
        after = api.send("sessions_authenticate", {field: body[field]})
        assert after.status == 404 and after.body["error_type"] == "session_not_found"
    # The JWT still verifies offline until it expires (5 minutes), as with Stytch; the API says no.
    assert _verify(api, body["session_jwt"])


def test_revoking_the_readers_access_ends_their_sessions_at_once(api, outbox):
    body = _session(api, outbox)

    api.revoke_access("ada@example.com")

    reply = api.send("sessions_authenticate", {"session_token": body["session_token"]})
    assert reply.status == 404


def test_a_session_expires_and_can_be_extended(api, outbox, clock):
    body = _session(api, outbox)

    clock.advance(50 * 60)
    extended = api.send(
        "sessions_authenticate", {"session_token": body["session_token"], "session_duration_minutes": 120}
    )
    assert extended.status == 200
    clock.advance(70 * 60)  # past the original hour, inside the extension
    assert api.send("sessions_authenticate", {"session_token": body["session_token"]}).status == 200

    clock.advance(60 * 60)
    expired = api.send("sessions_authenticate", {"session_token": body["session_token"]})
    assert expired.status == 404


def test_magic_link_authenticate_with_a_session_token_extends_that_session(api, outbox):
    body = _session(api, outbox)
    api.invite(delivery="none")
    url = api.invite(delivery="none").body["magic_link_url"]

    again = api.authenticate(token_of(url), session_token=body["session_token"], session_duration_minutes=90)

    assert again.status == 200
    assert again.body["session"]["session_id"] == body["session"]["session_id"]
    assert again.body["session_token"] == body["session_token"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-10],  # truncated
        lambda t: t.rsplit(".", 1)[0] + "." + "A" * 342,  # forged signature
        lambda t: ".".join(
            [t.split(".")[0], base64.urlsafe_b64encode(b'{"sub":"x"}').decode().rstrip("="), t.split(".")[2]]
        ),
        lambda t: "not.a.jwt",
        lambda t: "x" * 8000,
    ],
)
def test_tampered_or_truncated_jwts_are_clean_4xx(api, outbox, mangle):
    body = _session(api, outbox)
    reply = api.send("sessions_authenticate", {"session_jwt": mangle(body["session_jwt"])})
    assert 400 <= reply.status < 500
    assert reply.body["error_type"] in ("invalid_session_jwt", "bad_request")


def test_a_jwt_for_another_project_is_refused(api, outbox):
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign = jwt.encode(
        {"sub": "user-test-x", "aud": ["project-test-other"], "iss": BASE, "exp": 9999999999},
        key,
        algorithm="RS256",
        headers={"kid": "someone-else"},
    )
    reply = api.send("sessions_authenticate", {"session_jwt": foreign})
    assert reply.status == 401 and reply.body["error_type"] == "invalid_session_jwt"


@pytest.mark.parametrize("token", ["A" * 71, "A" * 72 + "==", "A" * 10_000, "!" * 72])
def test_malformed_session_tokens_are_clean_4xx(api, token):
    reply = api.send("sessions_authenticate", {"session_token": token})
    assert 400 <= reply.status < 500


def test_the_jwks_may_be_cached_for_five_minutes_and_an_error_not_at_all(api):
    assert api.send("jwks").headers["Cache-Control"] == "public, max-age=300"
    assert api.send("jwks", path="/v1/sessions/jwks/project-test-other").headers["Cache-Control"] == "no-cache"


def test_jwks_for_another_project_is_404(api):
    reply = api.send("jwks", path="/v1/sessions/jwks/project-test-other")
    assert reply.status == 404 and reply.body["error_type"] == "project_not_found"


def test_rotation_keeps_the_old_key_verifying_until_it_is_retired(api, outbox, configure):
    import boto3

    old_body = _session(api, outbox)
    old_key = boto3.client("kms").describe_key(KeyId="alias/magiclink-local-session-signing")["KeyMetadata"]["Arn"]
    new_key = boto3.client("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]

    configure(SESSION_SIGNING_KEY_IDS=f"{new_key},{old_key}")

    kids = [k["kid"] for k in _jwks(api)["keys"]]
    assert len(kids) == 2
    assert _verify(api, old_body["session_jwt"])  # issued before the rotation, still verifies
    fresh = api.send("sessions_authenticate", {"session_jwt": old_body["session_jwt"]})
    assert fresh.status == 200
    assert (
        jwt.get_unverified_header(fresh.body["session_jwt"])["kid"]
        == kids[0]
        != jwt.get_unverified_header(old_body["session_jwt"])["kid"]
    )

    configure(SESSION_SIGNING_KEY_IDS=new_key)  # retired
    assert api.send("sessions_authenticate", {"session_jwt": old_body["session_jwt"]}).status == 401


def test_pkce_links_need_the_verifier(api, outbox):
    api.invite(code_challenge=CHALLENGE, delivery="none")
    token = token_of(api.invite(code_challenge=CHALLENGE, delivery="none").body["magic_link_url"])

    missing = api.authenticate(token)
    assert missing.status == 400 and missing.body["error_type"] == "pkce_expected_code_verifier"
    wrong = api.authenticate(token, code_verifier="x" * 43)
    assert wrong.status == 400 and wrong.body["error_type"] == "pkce_mismatch"
    assert api.authenticate(token, code_verifier=VERIFIER).status == 200  # nothing was spent before


def test_a_verifier_for_a_link_without_pkce_is_refused(api, outbox):
    api.invite()
    reply = api.authenticate(last_token(outbox), code_verifier=VERIFIER)
    assert reply.status == 400 and reply.body["error_type"] == "pkce_did_not_expect_code_verifier"


@pytest.mark.parametrize(
    ("fields", "error_type"),
    [
        ({"code_challenge": CHALLENGE, "code_challenge_method": "plain"}, "invalid_code_challenge_method"),
        ({"code_challenge": "short"}, "bad_request"),
    ],
)
def test_pkce_input_is_checked_at_invite(api, fields, error_type):
    reply = api.invite(**fields)
    assert reply.status == 400 and reply.body["error_type"] == error_type


@pytest.mark.parametrize("verifier", ["x" * 42, "x" * 129, "é" * 43])
def test_a_verifier_of_the_wrong_shape_is_400(api, outbox, verifier):
    api.invite(code_challenge=CHALLENGE)
    reply = api.authenticate(last_token(outbox), code_verifier=verifier)
    assert reply.status == 400


def test_device_binding_compares_with_the_invites_attributes(api, outbox):
    attributes = {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 Ada"}
    api.invite(attributes=attributes)
    token = last_token(outbox)
    options = {"ip_match_required": True, "user_agent_match_required": True}

    other = api.authenticate(
        token, attributes={"ip_address": "198.51.100.1", "user_agent": "Mozilla/5.0 Ada"}, options=options
    )
    assert other.status == 401
    missing = api.authenticate(token, options=options)
    assert missing.status == 400
    same = api.authenticate(token, attributes=attributes, options=options)
    assert same.status == 200


def test_no_secret_of_a_session_reaches_the_table(api, outbox):
    from support import table_items

    body = _session(api, outbox)
    stored = json.dumps(table_items())
    assert body["session_token"] not in stored and body["session_jwt"] not in stored
