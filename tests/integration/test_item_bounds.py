"""A reader's item stays bounded whatever its callers do: at most MAX_SESSIONS sessions (a new one ends the
oldest) and the newest HISTORY_KEPT history events, so every write to it keeps working, far below
DynamoDB's 400 KB item limit."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import boto3
from support import event, token_of

from bench.roundtrips import item_size
from local import stack
from magiclink import sessions
from magiclink.models.items import HISTORY_KEPT, MAX_SESSIONS

EMAIL = "ada@example.com"
ITEM_LIMIT = 400 * 1024  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
WIDE_AGENT = "\U0001f984" * 1024  # the longest user agent kept (1,024 characters), 4 bytes each in UTF-8
CLAIMS = {"note": "x" * 3500}  # custom claims a little under Stytch's 4 KB


def _stored(user_id: str) -> dict:
    key = {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}
    return boto3.client("dynamodb").get_item(TableName=stack.local_names()["Table"], Key=key)["Item"]


def _press(api, token: str) -> str:
    """Continue on the landing page of a hosted-mode link, from the widest browser there is; its session token."""
    sent = event("landing_continue", raw_body=urlencode({"token": token}))
    sent["headers"]["user-agent"] = sent["requestContext"]["http"]["userAgent"] = WIDE_AGENT
    reply = api.deliver(sent)
    assert reply.status == 303, reply.body
    return parse_qs(reply.headers["Location"].partition("#")[2])["session_token"][0]


def _alive(api, session_token: str) -> bool:
    return api.send("sessions_authenticate", {"session_token": session_token}).status == 200


def test_a_reader_driven_past_both_caps_keeps_every_write_working_and_stays_far_below_400_kb(api, clock, configure):
    # Given a reader with a reusable hosted-mode link, and rate limits out of the way
    configure(EMAIL_LINKS_PER_HOUR="1000")
    invited = api.invite(EMAIL, reusable=True, session_duration_minutes=1440, delivery="none")
    user_id = invited.body["user_id"]
    link = {"reusable": True, "delivery": "none"}

    # When the link is re-issued 55 times, the last 25 of them pressed once, and the last authenticated
    # through the API 10 times with custom claims: 56 history events and 35 sessions, a second apart
    tokens = []
    for n in range(55):
        clock.advance(1)
        relinked = api.new_link(EMAIL, **link)
        assert relinked.status == 200, relinked.body
        magic_token = token_of(relinked.body["magic_link_url"])
        if n >= 30:
            tokens.append(_press(api, magic_token))
    for _ in range(10):
        clock.advance(1)
        signed_in = api.authenticate(
            magic_token,
            session_duration_minutes=60,
            session_custom_claims=CLAIMS,
            attributes={"user_agent": WIDE_AGENT},
        )
        assert signed_in.status == 200, signed_in.body
        tokens.append(signed_in.body["session_token"])

    # Then the reader holds the newest MAX_SESSIONS sessions (the oldest ended first) and HISTORY_KEPT events
    item = _stored(user_id)
    assert set(item["sessions"]["M"]) == {sessions.locate_token(t).sid for t in tokens[-MAX_SESSIONS:]}
    assert not _alive(api, tokens[0]) and _alive(api, tokens[-1])
    history = item["history"]["L"]
    assert len(history) == HISTORY_KEPT
    assert history[-1]["M"]["event"] == {"S": "link_issued"} and "invited" not in str(history)
    # and the item, with every session as wide as the API lets it be, stays far below DynamoDB's limit
    # (sized as "DynamoDB item sizes and formats" says: attribute names and values,
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)
    assert item_size(item) < ITEM_LIMIT / 2, item_size(item)

    # and every later write to the reader still works, within the caps
    clock.advance(1)
    assert api.new_link(EMAIL, **link).status == 200
    _press(api, token_of(api.new_link(EMAIL, **link).body["magic_link_url"]))
    assert api.deactivate(EMAIL).status == 200
    assert api.revoke_access(EMAIL).status == 200
    item = _stored(user_id)
    assert len(item["sessions"]["M"]) <= MAX_SESSIONS and len(item["history"]["L"]) == HISTORY_KEPT
    assert item["history"]["L"][-1]["M"]["event"] == {"S": "revoked"}


def test_at_the_cap_a_press_on_the_landing_page_ends_the_oldest_session_in_the_same_write(api, clock, aws_calls):
    # Given a reader who has pressed their reusable hosted-mode link as often as they may hold sessions
    invited = api.invite(EMAIL, reusable=True, session_duration_minutes=60, delivery="none")
    token = token_of(invited.body["magic_link_url"])
    pressed = []
    for _ in range(MAX_SESSIONS):
        clock.advance(1)
        pressed.append(_press(api, token))
    clock.advance(1)
    aws_calls.clear()

    # When they press it once more
    newest = _press(api, token)

    # Then the oldest session ended in the write that started the new one: no second round trip
    assert aws_calls[("dynamodb", "UpdateItem")] == 1
    assert len(_stored(invited.body["user_id"])["sessions"]["M"]) == MAX_SESSIONS
    assert not _alive(api, pressed[0]) and _alive(api, pressed[1]) and _alive(api, newest)
