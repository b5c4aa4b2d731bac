"""Cleanup at scale on the real engine: the items it reads are the items it has work for."""

from __future__ import annotations

import json

from support import EVENTS

from local import stack
from local.stack import LambdaContext
from magiclink import clock as service_clock


def _run_cleanup(functions):
    event = json.loads((EVENTS / "cleanup_schedule.json").read_text())
    return functions.handler("CleanupFunction")(event, LambdaContext(functions.functions["CleanupFunction"]))


def stack_table() -> str:
    return stack.local_names()["Table"]


def clock_now() -> int:
    return service_clock.now()


def _batch_put(client, table: str, items: list[dict]) -> None:
    for start in range(0, len(items), 25):
        request = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or None


def test_cleanup_reads_only_what_it_has_work_for(api, functions, clock, aws_calls, configure):
    """10 000 live readers and 100 expired ones: cleanup reads about 100 items, not 10 100."""
    # The clock moves 30 days and an hour; a lookback of 31 days keeps today's bucket in it at any time of day
    # (with 30, a run between 23:00 and midnight UTC looked past the pending invites' day).
    configure(CLEANUP_LOOKBACK_DAYS="31")
    import boto3

    from magiclink import store
    from magiclink.models.items import Reader

    client = boto3.client("dynamodb")
    table = stack_table()
    now = clock_now()
    live = [
        Reader(
            user_id=f"user-test-00000000-0000-4000-8000-{i:012d}",
            email_id=f"email-test-{i}",
            email=f"live{i:05d}@example.com",
            created_at=now,
            grant_id=f"grant-test-{i}",
            grant_status="active",
            user_status="active",
            invited_at=now,
            invited_by="project-test-local",
            access_expires_at=now + 86400 * (400 + i % 300) if i % 2 else None,  # far beyond the window
        )
        for i in range(10_000)
    ]
    _batch_put(client, table, [store.codec.to_item(r) for r in live])
    for i in range(50):  # 50 revoked invites, past retention after the clock moves
        api.invite(f"gone{i:02d}@example.com", delivery="none")
        api.revoke(f"gone{i:02d}@example.com")
    for i in range(50):  # 50 pending invites whose link will be over
        api.invite(f"late{i:02d}@example.com", delivery="none", invite_expiration_minutes=5)
    clock.advance(30 * 86400 + 3600)  # past the revoked ones' retention

    items_read = {"n": 0}

    def count(parsed, **_):
        items_read["n"] += len(parsed.get("Items", [])) + (1 if "Item" in parsed else 0)

    session = boto3._get_default_session()  # its hooks see every client's calls
    session.events.register("after-call.dynamodb.*", lambda http_response, parsed, **kw: count(parsed))
    try:
        aws_calls.clear()
        result = _run_cleanup(functions)
    finally:
        session.events.unregister("after-call.dynamodb.*")

    assert result["deleted"] == 50 and result["expired"] == 50
    assert items_read["n"] <= 110, items_read  # ~1 item read per item with work, whatever the table holds
    assert aws_calls[("dynamodb", "Scan")] == 0
    assert aws_calls[("dynamodb", "TransactWriteItems")] <= 2  # the 50 deletions went in batches
