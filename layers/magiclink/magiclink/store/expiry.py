"""Cleanup's reads and writes: the due and expired items of one day's bucket (sparse indexes, read with
boto3's paginator, never a scan), conditional deletes in transactions, and a due reader's settling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..models.items import Reader
from .codec import event, from_item
from .dynamo import (
    DUE_INDEX,
    EXPIRY_INDEX,
    ConditionFailed,
    applied,
    client,
    conditional_update,
    email_key,
    expiry_bucket,
    query_all,
    table,
    throttling_as_503,
    user_key,
    values,
)
from .reader import keep_newest_history

TRANSACTION_LIMIT = 100  # actions in one TransactWriteItems


def expired_items(bucket: str, *, now: int) -> Iterator[tuple[dict, str]]:
    """(key, email) of the items in one day's expiry bucket whose ttl has passed; reads only those."""
    items = query_all(
        TableName=table(),
        IndexName=EXPIRY_INDEX,
        KeyConditionExpression="expiry_bucket = :bucket AND #ttl <= :now",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues=values(bucket=bucket, now=now),
    )
    for item in items:
        yield {"pk": item["pk"], "sk": item["sk"]}, item["email"]["S"]


def delete_expired(items: list[tuple[dict, str]], *, now: int) -> int:
    """Delete expired items in transactions of up to 100 actions (a reader goes with its email pointer).

    Each delete applies only if the item's ttl is still past (a re-invite may have revived it since the
    index was read); an item whose condition fails is left alone and the rest of its batch is retried.
    Returns how many items were deleted.
    """
    deleted = 0
    batch: list[tuple[dict, str]] = []
    actions = 0
    for key, email in items:
        size = 2 if key["sk"]["S"] == "USER" else 1
        if actions + size > TRANSACTION_LIMIT:
            deleted += _delete_batch(batch, now)
            batch, actions = [], 0
        batch.append((key, email))
        actions += size
    if batch:
        deleted += _delete_batch(batch, now)
    return deleted


def _delete_actions(key: dict, email: str, now: int) -> list[dict]:
    actions = [
        {
            "Delete": {
                "TableName": table(),
                "Key": key,
                "ConditionExpression": "#ttl <= :now",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
                "ExpressionAttributeValues": values(now=now),
            }
        }
    ]
    if key["sk"]["S"] == "USER":
        actions.append(
            {
                "Delete": {
                    "TableName": table(),
                    "Key": email_key(email),
                    "ConditionExpression": "attribute_not_exists(pk) OR user_id = :user_id",
                    "ExpressionAttributeValues": values(user_id=key["pk"]["S"].removeprefix("USER#")),
                }
            }
        )
    return actions


def _delete_batch(batch: list[tuple[dict, str]], now: int) -> int:
    while batch:
        grouped = [_delete_actions(key, email, now) for key, email in batch]
        try:
            with throttling_as_503():
                client().transact_write_items(TransactItems=[a for group in grouped for a in group])
            return len(batch)
        except client().exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            failed, position = set(), 0
            for index, group in enumerate(grouped):
                codes = [reasons[position + i].get("Code") for i in range(len(group)) if position + i < len(reasons)]
                if any(code not in (None, "None") for code in codes):
                    failed.add(index)
                position += len(group)
            if not failed:  # cancelled for another reason (a conflict): give up on this batch until next run
                return 0
            batch = [item for index, item in enumerate(batch) if index not in failed]
    return 0


def due_readers(bucket: str, *, now: int) -> Iterator[tuple[Reader, int]]:
    """(reader, due_at) of the readers in one day's due bucket whose time has come; reads only those."""
    items = query_all(
        TableName=table(),
        IndexName=DUE_INDEX,
        KeyConditionExpression="due_bucket = :bucket AND due_at <= :now",
        ExpressionAttributeValues=values(bucket=bucket, now=now),
    )
    for item in items:
        yield from_item(item), int(item["due_at"]["N"])


def settle(reader: Reader, seen_due: int, *, now: int, expire: bool, next_due: int | None) -> bool:
    """Cleanup's one write for a due reader: mark the grant expired, or move (or clear) its due time,
    and drop sessions that have expired. Applies only if nobody changed the reader's due time since
    it was read (an invite or re-link in between wins). False when it did not apply."""
    expired_sessions = [sid for sid, entry in reader.sessions.items() if entry.expires_at <= now]
    names = {f"#s{i}": sid for i, sid in enumerate(expired_sessions)}
    removes = [f"sessions.#s{i}" for i in range(len(expired_sessions))]
    sets: list[str] = []
    named: dict[str, Any] = {"seen": seen_due}
    if expire:
        sets += [
            "grant_status = :expired",
            "history = list_append(if_not_exists(history, :empty), :event)",
        ]
        removes += ["link_hash", "code_hash", "code_expires_at", "code_tries", "due_at", "due_bucket"]
        named |= {"expired": "expired", "empty": [], "event": event(now, "expired", "cleanup")}
    elif next_due is None:
        removes += ["due_at", "due_bucket"]
    else:
        sets += ["due_at = :due", "due_bucket = :bucket"]
        named |= {"due": next_due, "bucket": expiry_bucket(next_due)}
    expression = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
    request: dict[str, Any] = {
        "TableName": table(),
        "Key": user_key(reader.user_id),
        "UpdateExpression": expression.strip(),
        "ConditionExpression": "due_at = :seen",
        "ExpressionAttributeValues": values(**named),
    }
    if names:
        request["ExpressionAttributeNames"] = names
    if not expire:
        return applied(**request)
    try:
        new = conditional_update(ReturnValues="ALL_NEW", **request)
    except ConditionFailed:
        return False
    keep_newest_history(from_item(new))  # the expiry added an event
    return True
