"""POST /v1/magic_links/email/revoke_invite."""

from __future__ import annotations

from stytch.consumer.models.magic_links_email import RevokeInviteResponse
from support import last_token, table_items


def test_revoking_a_pending_invite_stops_its_link_and_schedules_its_deletion(api, outbox):
    api.invite()
    token = last_token(outbox)

    reply = api.revoke(" ada@EXAMPLE.com ")

    assert reply.status == 200
    RevokeInviteResponse.from_json(reply.status, reply.body)
    (reader,) = [i for i in table_items() if i["sk"]["S"] == "USER"]
    assert reader["grant_status"]["S"] == "revoked"
    assert "link_hash" not in reader
    assert int(reader["ttl"]["N"]) > int(reader["revoked_at"]["N"])
    assert reader["expiry_bucket"]["S"].count("-") == 2
    assert api.authenticate(token).status == 401


def test_revoking_twice_is_fine(api):
    api.invite()
    assert api.revoke().status == 200
    assert api.revoke().status == 200


def test_revoking_an_unknown_email_is_not_found(api):
    reply = api.revoke("nobody@example.com")
    assert reply.status == 404
    assert reply.body["error_type"] == "email_not_found"


def test_an_accepted_invite_cannot_be_revoked_as_pending(api, outbox):
    api.invite()
    api.authenticate(last_token(outbox))

    reply = api.revoke()

    assert reply.status == 400
    assert reply.body["error_type"] == "invite_already_accepted"


def test_reinviting_after_a_revoke_renews_the_grant(api, outbox):
    first = api.invite()
    api.revoke()

    again = api.invite()

    assert again.status == 200
    assert again.body["user_id"] == first.body["user_id"]
    assert again.body["grant_renewed"] is True
    (reader,) = [i for i in table_items() if i["sk"]["S"] == "USER"]
    assert reader["grant_status"]["S"] == "pending"
    assert "ttl" not in reader and "expiry_bucket" not in reader
    assert api.authenticate(last_token(outbox)).status == 200
