"""Expiry on the real engine: the `ttl` the service writes is what DynamoDB's TTL deletes by, and what cleanup reads."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from engine_support import day_of, pointer_item, reader_item
from support import EVENTS, last_token

from local import stack
from local.stack import LambdaContext
from magiclink.settings import get_settings

DAY = 86400
TTL_WAIT_SECONDS = 60


def _run_cleanup(functions) -> dict:
    event = json.loads((EVENTS / "cleanup_schedule.json").read_text())
    return functions.handler("CleanupFunction")(event, LambdaContext(functions.functions["CleanupFunction"]))


def _found_deleted(result: dict) -> tuple[int, int]:
    return result["found"], result["deleted"]


def test_dynamodb_local_expires_a_revoked_invite_by_the_ttl_the_service_wrote(api, outbox, clock, functions):
    client = boto3.client("dynamodb")
    retention = get_settings().revoked_retention_days * DAY

    # Given the table's TTL on `ttl`, as the template declares it
    described = client.describe_time_to_live(TableName=stack.local_names()["Table"])["TimeToLiveDescription"]
    assert described == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}

    # And an invite revoked one day more than the retention ago, so its ttl passed a day ago
    gone = api.invite("gone@example.com")
    gone_token = last_token(outbox)
    gone_user = gone.body["user_id"]
    clock.advance(-(retention + DAY))
    assert api.revoke("gone@example.com").status == 200
    clock.advance(retention + DAY)

    # And one revoked now, its retention still running
    kept = api.invite("kept@example.com")
    before = int(time.time())
    assert api.revoke("kept@example.com").status == 200
    after = int(time.time())

    # Then the ttl is whole epoch seconds (a Number): the revocation plus the retention, in the day bucket it
    # names (read on the live one: DynamoDB Local may have swept the other already, it does within seconds)
    kept_item = reader_item(kept.body["user_id"])
    assert set(kept_item["ttl"]) == {"N"} and kept_item["ttl"]["N"].isdigit()
    kept_ttl = int(kept_item["ttl"]["N"])
    assert before + retention <= kept_ttl <= after + retention
    assert kept_item["expiry_bucket"] == {"S": day_of(kept_ttl)}

    # When DynamoDB Local's TTL runs, it deletes the reader whose ttl has passed
    deadline = time.monotonic() + TTL_WAIT_SECONDS
    while reader_item(gone_user) is not None:
        if time.monotonic() > deadline:
            pytest.fail(f"DynamoDB Local did not delete an item whose ttl passed a day ago in {TTL_WAIT_SECONDS}s")
        time.sleep(0.5)

    # And leaves the one whose ttl is ahead, and the email pointer, which carries no ttl
    assert reader_item(kept.body["user_id"]) is not None
    assert pointer_item("gone@example.com")["user_id"] == {"S": gone_user}

    # Then that half-removed invite behaves: its link points at no one, revoking it again finds no one,
    assert api.authenticate(gone_token).status == 404
    assert api.revoke("gone@example.com").body["error_type"] == "email_not_found"
    # and the email can be invited afresh, the new reader taking the pointer over, with a link that works
    again = api.invite("gone@example.com")
    assert again.status == 200, again.body
    assert again.body["user_id"] != gone_user and again.body["grant_renewed"] is False
    assert pointer_item("gone@example.com")["user_id"] == {"S": again.body["user_id"]}
    assert api.authenticate(last_token(outbox)).status == 200

    # And the expiry index no longer lists what TTL deleted: cleanup finds nothing due
    assert _found_deleted(_run_cleanup(functions)) == (0, 0)


def test_cleanup_deletes_through_the_expiry_index_on_the_real_engine(api, clock, functions):
    # Given a revoked invite, a pending one, and a revoked-then-renewed one (as tests/integration has them)
    gone = api.invite("gone@example.com")
    api.revoke("gone@example.com")
    api.invite("kept@example.com")
    api.invite("back@example.com")
    api.revoke("back@example.com")
    back = api.invite("back@example.com")
    assert back.body["grant_renewed"] is True

    # When the job runs before the retention has passed, nothing goes
    assert _found_deleted(_run_cleanup(functions)) == (0, 0)

    # When it runs after the retention (the service's clock moved; the stored ttl stays ahead of the
    # engine's, so DynamoDB Local's TTL stays out of it)
    clock.advance(get_settings().revoked_retention_days * DAY + DAY)
    result = _run_cleanup(functions)

    # Then only the revoked reader and its pointer are deleted, together
    assert _found_deleted(result) == (1, 1)
    assert reader_item(gone.body["user_id"]) is None and pointer_item("gone@example.com") is None
    assert pointer_item("kept@example.com") is not None
    assert reader_item(back.body["user_id"]) is not None and pointer_item("back@example.com") is not None
    assert _found_deleted(_run_cleanup(functions)) == (0, 0)
