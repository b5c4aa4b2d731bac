"""Session JWTs are signed by KMS as a digest, whatever their size; a throttled or failing KMS never locks out a
reader whose link it has just spent."""

from __future__ import annotations

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError
from support import token_of

from local import stack

BASE = "http://127.0.0.1:3000"
KEY = stack.local_names()["SessionSigningKey.Arn"]


def _link(api) -> str:
    api.invite(delivery="none")
    return token_of(api.invite(delivery="none").body["magic_link_url"])


def _verify(api, token: str) -> dict:
    """What a protected site does: verify the JWT against the public JWKS with a standard library."""
    keys = {k["kid"]: k for k in api.send("jwks").body["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(
        token, key=jwt.PyJWK(keys[kid]).key, algorithms=["RS256"], audience="project-test-local", issuer=BASE
    )


@pytest.fixture
def kms_answers(aws, monkeypatch):
    """kms_answers("ThrottlingException") makes KMS Sign answer that error (after botocore's retries);
    kms_answers(None) lets it sign again."""
    from magiclink import signing

    client = signing._client()
    sign = client.sign

    def answer(code: str | None) -> None:
        def refuse(**_):
            raise ClientError({"Error": {"Code": code, "Message": "KMS says no"}}, "Sign")

        monkeypatch.setattr(client, "sign", sign if code is None else refuse)

    return answer


def test_the_digest_signature_is_byte_identical_to_the_raw_one(aws):
    from magiclink import signing

    message = b"header.claims" * 300  # 3,900 bytes: RAW would still take it, so the two can be compared

    raw = boto3.client("kms").sign(
        KeyId=KEY, Message=message, MessageType="RAW", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256"
    )["Signature"]

    assert signing.sign_rs256(KEY, message) == raw  # RSASSA-PKCS1-v1_5 is deterministic


def test_claims_past_kmss_raw_limit_sign_and_verify(api, outbox):
    claims = {"profile": "x" * 2600}  # with the session's own claims, a signing input over 4,096 bytes

    reply = api.authenticate(_link(api), session_duration_minutes=60, session_custom_claims=claims)

    assert reply.status == 200, reply.body
    assert len(reply.body["session_jwt"].rpartition(".")[0]) > 4096
    assert _verify(api, reply.body["session_jwt"])["profile"] == claims["profile"]


def test_custom_claims_over_4_kb_are_a_400_and_spend_nothing(api, outbox):
    token = _link(api)

    reply = api.authenticate(token, session_duration_minutes=60, session_custom_claims={"x": "y" * 4096})

    assert reply.status == 400 and reply.body["error_type"] == "invalid_session_custom_claims"
    assert "session_custom_claims" in reply.body["error_message"]
    assert api.authenticate(token, session_duration_minutes=60).status == 200  # the link was not spent


def test_sessions_authenticate_refuses_claims_over_4_kb_before_writing(api, outbox):
    session = api.authenticate(_link(api), session_duration_minutes=60).body

    reply = api.send(
        "sessions_authenticate",
        {"session_token": session["session_token"], "session_custom_claims": {"x": "y" * 4096}},
    )

    assert reply.status == 400 and "session_custom_claims" in reply.body["error_message"]
    again = api.send("sessions_authenticate", {"session_token": session["session_token"]})
    assert again.status == 200
    assert set(again.body["session"]["custom_claims"]) == {"magiclink/grant"}  # only the service's own


def test_a_kms_throttle_after_the_spend_still_lets_the_reader_in(api, outbox, kms_answers):
    token = _link(api)
    kms_answers("ThrottlingException")

    reply = api.authenticate(token, session_duration_minutes=60)

    # The link is spent, and the answer carries the session that the spend created, without its JWT.
    assert reply.status == 200, reply.body
    assert reply.body["session"]["session_id"] and len(reply.body["session_token"]) == 72
    assert reply.body["session_jwt"] == ""
    assert api.authenticate(token).status == 401
    # A JWT for the session is a 503 to retry while KMS throttles...
    busy = api.send("sessions_authenticate", {"session_token": reply.body["session_token"]})
    assert busy.status == 503 and busy.body["error_type"] == "service_unavailable"
    assert busy.headers["Retry-After"] == "1"
    # ... and the reader's, signed, once it answers again.
    kms_answers(None)
    fresh = api.send("sessions_authenticate", {"session_token": reply.body["session_token"]})
    assert fresh.status == 200
    assert _verify(api, fresh.body["session_jwt"])["sub"] == reply.body["user_id"]


def test_a_kms_failure_after_the_spend_still_lets_the_reader_in(api, outbox, kms_answers):
    token = _link(api)
    kms_answers("KMSInvalidStateException")  # say, the key disabled by mistake

    reply = api.authenticate(token, session_duration_minutes=60)

    assert reply.status == 200, reply.body
    assert reply.body["session_jwt"] == "" and len(reply.body["session_token"]) == 72
    kms_answers(None)
    fresh = api.send("sessions_authenticate", {"session_token": reply.body["session_token"]})
    assert fresh.status == 200 and _verify(api, fresh.body["session_jwt"])


def test_a_throttled_public_key_read_is_a_503(api, monkeypatch):
    from magiclink import signing

    def throttled(**_):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetPublicKey")

    monkeypatch.setattr(signing._client(), "get_public_key", throttled)

    reply = api.send("jwks")

    assert reply.status == 503 and reply.headers["Retry-After"] == "1"


def test_during_a_rotation_a_jwt_of_the_previous_key_extends_its_session_by_magic_link(api, outbox, configure):
    old = api.authenticate(_link(api), session_duration_minutes=60).body
    new_key = boto3.client("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    configure(SESSION_SIGNING_KEY_IDS=f"{new_key},{KEY}")

    reply = api.authenticate(_link(api), session_jwt=old["session_jwt"])

    assert reply.status == 200, reply.body
    assert reply.body["session"]["session_id"] == old["session"]["session_id"]
    header = jwt.get_unverified_header
    assert header(reply.body["session_jwt"])["kid"] != header(old["session_jwt"])["kid"]  # signed by the new key
    assert _verify(api, reply.body["session_jwt"])["sub"] == old["user_id"]
