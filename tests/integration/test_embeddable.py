"""POST /v1/magic_links: an embeddable link's token, for the app to deliver itself; it authenticates once."""

from __future__ import annotations

from stytch.consumer.models.magic_links import CreateResponse
from support import last_token, table_items


def _embeddable(api, user_id: str, **fields):
    return api.send("magic_links_create", {"user_id": user_id, **fields})


def test_an_embeddable_link_authenticates_once_and_replaces_the_emailed_one(api, outbox):
    user_id = api.invite().body["user_id"]
    emailed = last_token(outbox)

    reply = _embeddable(api, user_id, expiration_minutes=10, attributes={"ip_address": None})

    assert reply.status == 200, reply.body
    parsed = CreateResponse.from_json(reply.status, reply.body)  # Stytch's SDK model
    assert parsed.user_id == user_id and len(parsed.token) == 64
    assert len(outbox.messages()) == 1  # nothing emailed
    assert api.authenticate(emailed).status == 401  # one link per reader: the emailed one stopped working
    first = api.authenticate(parsed.token, session_duration_minutes=60)
    assert first.status == 200 and first.body["user_id"] == user_id
    assert api.authenticate(parsed.token).status == 401
    assert parsed.token not in str(table_items())


def test_an_embeddable_link_expires_as_asked(api, clock):
    user_id = api.invite(delivery="none").body["user_id"]
    token = _embeddable(api, user_id, expiration_minutes=5).body["token"]

    clock.advance(5 * 60 + 1)

    assert api.authenticate(token).status == 401


def test_an_embeddable_link_for_nobody_or_a_revoked_reader_is_refused(api):
    nobody = _embeddable(api, "user-test-00000000-0000-4000-8000-000000000000")
    api.invite()
    revoked = api.revoke_access("ada@example.com").body["reader"]["user_id"]
    refused = _embeddable(api, revoked)
    too_long = _embeddable(api, revoked, expiration_minutes=10081)

    assert nobody.status == 404 and nobody.body["error_type"] == "user_not_found"
    assert refused.status == 400 and refused.body["error_type"] == "grant_not_active"
    assert too_long.status == 400 and "expiration_minutes" in too_long.body["error_message"]
