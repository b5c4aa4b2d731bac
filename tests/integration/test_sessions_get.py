"""GET /v1/sessions?user_id= (Stytch's sessions.get): the user's live sessions."""

from __future__ import annotations

from stytch.consumer.models.sessions import GetResponse
from support import token_of

NOBODY = "user-test-00000000-0000-4000-8000-000000000000"


def test_sessions_get_lists_the_users_live_sessions(api, clock):
    url = api.invite(delivery="none").body["magic_link_url"]
    short = api.authenticate(token_of(url), session_duration_minutes=10).body
    user_id = short["user_id"]
    clock.advance(1)  # oldest first is by start time, in whole seconds: two sessions of one second tie
    long_token = api.send("magic_links_create", {"user_id": user_id}).body["token"]
    long = api.authenticate(long_token, session_duration_minutes=120).body

    def listed() -> list[str]:
        reply = api.send("sessions_get", query={"user_id": user_id})
        assert reply.status == 200, reply.body
        return [s.session_id for s in GetResponse.from_json(reply.status, reply.body).sessions]

    assert listed() == [short["session"]["session_id"], long["session"]["session_id"]]
    clock.advance(11 * 60)
    assert listed() == [long["session"]["session_id"]]  # the expired one is not live
    api.send("sessions_revoke", {"session_id": long["session"]["session_id"]})
    assert listed() == []
    missing = api.send("sessions_get", query={"user_id": NOBODY})
    assert missing.status == 404 and missing.body["error_type"] == "user_not_found"
    assert api.send("sessions_get", query={}).status == 400


def test_sessions_get_lists_nothing_once_access_is_revoked(api):
    url = api.invite(delivery="none").body["magic_link_url"]
    user_id = api.authenticate(token_of(url), session_duration_minutes=60).body["user_id"]

    api.revoke_access("ada@example.com")
    reply = api.send("sessions_get", query={"user_id": user_id})

    assert reply.status == 200 and reply.body["sessions"] == []
