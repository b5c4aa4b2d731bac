"""POST /v1/magic_links/authenticate: single use, expiry in code, one answer for every refusal."""

from __future__ import annotations

from stytch.consumer.models.magic_links import AuthenticateResponse
from support import last_token, table_items

from magiclink import tokens


def test_first_use_activates_the_user_and_second_use_is_refused(api, outbox):
    # Given an invited user and their link
    invited = api.invite(name={"first_name": "Ada"}, trusted_metadata={"plan": "team"})
    token = last_token(outbox)

    # When the link is authenticated
    first = api.authenticate(token)

    # Then the answer is Stytch's, with the full user object, now active
    assert first.status == 200
    parsed = AuthenticateResponse.from_json(first.status, first.body)
    assert parsed.user_id == invited.body["user_id"]
    assert parsed.method_id == invited.body["email_id"]
    assert parsed.user.status == "active"
    assert parsed.user.emails[0].email == "ada@example.com" and parsed.user.emails[0].verified
    assert parsed.user.name.first_name == "Ada"
    assert parsed.user.trusted_metadata == {"plan": "team"}
    assert parsed.session_token == "" and parsed.session_jwt == "" and parsed.session is None
    assert first.body["role"] == "reader"

    # And the stored reader counts the authentication
    (reader,) = [i for i in table_items() if i["sk"]["S"] == "USER"]
    assert reader["grant_status"]["S"] == "active"
    assert reader["authentication_count"]["N"] == "1"

    # When the same link is used again, it is refused
    second = api.authenticate(token)
    assert second.status == 401
    assert second.body["error_type"] == "unable_to_auth_magic_link"


def test_an_expired_link_is_refused_though_the_item_is_still_there(api, outbox, clock):
    api.invite(invite_expiration_minutes=5)
    token = last_token(outbox)

    clock.advance(5 * 60 + 1)
    reply = api.authenticate(token)

    assert reply.status == 401
    assert reply.body["error_type"] == "unable_to_auth_magic_link"


def test_a_link_inside_its_expiry_works(api, outbox, clock):
    api.invite(invite_expiration_minutes=5)
    clock.advance(5 * 60 - 5)
    assert api.authenticate(last_token(outbox)).status == 200


def test_access_expiry_ends_the_grant_even_with_a_live_link(api, outbox, clock):
    api.invite(invite_expiration_minutes=120, access_expiration_minutes=30)
    token = last_token(outbox)

    clock.advance(31 * 60)

    assert api.authenticate(token).status == 401


def test_a_reusable_link_works_until_it_expires_and_counts_each_use(api, outbox, clock):
    api.invite(reusable=True, invite_expiration_minutes=10)
    token = last_token(outbox)

    assert api.authenticate(token).status == 200
    assert api.authenticate(token).status == 200
    (reader,) = [i for i in table_items() if i["sk"]["S"] == "USER"]
    assert reader["authentication_count"]["N"] == "2"

    clock.advance(11 * 60)
    assert api.authenticate(token).status == 401


def test_a_revoked_invites_link_gets_the_same_answer_as_a_used_one(api, outbox):
    api.invite()
    token = last_token(outbox)
    assert api.revoke().status == 200

    reply = api.authenticate(token)

    assert reply.status == 401
    assert reply.body["error_type"] == "unable_to_auth_magic_link"


def test_tokens_that_point_nowhere_are_not_found(api, outbox):
    import uuid

    for token in (tokens.new_token(uuid.uuid4()), "not-a-token", "A" * 63 + "=", "x" * 512):
        reply = api.authenticate(token)
        assert reply.status == 404, token
        assert reply.body["error_type"] == "magic_link_not_found"


def test_a_forged_secret_for_a_real_user_is_refused(api, outbox):
    api.invite()
    real = last_token(outbox)
    forged = tokens.new_token(tokens.locate(real))

    assert api.authenticate(forged).status == 401
    assert api.authenticate(real).status == 200


def test_an_oversized_token_is_a_clean_400(api):
    reply = api.authenticate("A" * 10_000)
    assert reply.status == 400
    assert reply.body["error_type"] == "bad_request"
    assert "token" in reply.body["error_message"]


def test_dynamodb_throttling_that_outlasts_the_retries_is_a_503_with_retry_after(api, outbox, monkeypatch):
    from botocore.exceptions import ClientError

    from magiclink import store

    api.invite()
    token = last_token(outbox)

    def throttled(**_):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateItem")

    with monkeypatch.context() as patched:
        patched.setattr(store.dynamo.client(), "update_item", throttled)
        reply = api.authenticate(token)

    assert reply.status == 503 and reply.body["error_type"] == "service_unavailable"
    assert reply.headers["Retry-After"] == "1"
    assert api.authenticate(token).status == 200  # nothing was spent
