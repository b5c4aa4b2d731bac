"""The reader item (`USER#<user_id>`) and its email pointer (`EMAIL#<email>`): find, read, create,
revoke, deactivate, list a page, and the sessions kept inside it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import ServiceUnavailable
from ..models.items import HISTORY_KEPT, Reader
from .codec import event, from_item, to_item
from .counters import Counter, count_action, refused_counter
from .dynamo import (
    CONFLICT_ATTEMPTS,
    EMAIL_INDEX,
    ConditionFailed,
    applied,
    client,
    conditional_update,
    email_key,
    expiry_bucket,
    get,
    query_all,
    table,
    throttling_as_503,
    transact,
    user_key,
    values,
)

_REMOVE_BATCH = 100  # sessions ended in one write: "sessions.#s99, " a hundred times is ~1.5 KB


class EmailTaken(Exception):
    """The email is someone's already: `user_id` is its pointer's user (None if it could not be read)."""

    def __init__(self, user_id: str | None):
        super().__init__("email taken")
        self.user_id = user_id


def find_user_id(email: str) -> str | None:
    item = get(email_key(email))
    return item["user_id"]["S"] if item else None


def find_user_id_by_email_id(email_id: str) -> str | None:
    """The user an email id (Stytch's method_id) belongs to: one Query of the keys-only by_email_id index."""
    for item in query_all(
        TableName=table(),
        IndexName="by_email_id",
        KeyConditionExpression="email_id = :id",
        ExpressionAttributeValues=values(id=email_id),
        Limit=2,
    ):
        return item["pk"]["S"].removeprefix("USER#")
    return None


def get_reader(user_id: str) -> Reader | None:
    item = get(user_key(user_id))
    return from_item(item) if item else None


def create_reader(
    reader: Reader, *, now: int, replaces_user_id: str | None = None, counters: list[Counter] | None = None
) -> None:
    """Write a new reader and claim its email, counting against `counters` in the same transaction.

    EmailTaken (with the pointer's user id) if the email is claimed; LimitReached if a counter refused
    (nothing is written or counted then). `replaces_user_id` lets the claim take over an email pointer
    whose reader item is gone (a revoked invite that expiry removed half of).
    """
    email_put: dict[str, Any] = {
        "TableName": table(),
        "Item": email_key(reader.email) | {"user_id": {"S": reader.user_id}},
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if replaces_user_id:
        email_put["ConditionExpression"] += " OR user_id = :stale"
        email_put["ExpressionAttributeValues"] = values(stale=replaces_user_id)
    reader_put = {"TableName": table(), "Item": to_item(reader), "ConditionExpression": "attribute_not_exists(pk)"}
    counters = counters or []
    actions = [{"Put": email_put}, {"Put": reader_put}, *(count_action(c, now) for c in counters)]

    def refused(reasons: list[dict]) -> Exception | None:
        reached = refused_counter(counters, reasons, offset=2)
        if reached is not None:
            return reached
        if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons[:2]):
            item = reasons[0].get("Item", {})
            return EmailTaken(item["user_id"]["S"] if "user_id" in item else None)
        return None

    transact(actions, refused)


def revoke(user_id: str, *, now: int, by: str, delete_at: int, pending_only: bool = False) -> Reader:
    """Revoke a grant: its link stops matching at once, and the reader is kept until `delete_at` as a record
    (which is also when cleanup next looks at it).

    `pending_only` limits it to users who never authenticated (Stytch's revoke_invite).
    Returns the reader after the write; ConditionFailed (with the item as it is) when the grant was
    already revoked, the user is not pending though `pending_only` asked so, or there is no reader.
    """
    condition = "grant_status <> :revoked"
    named = {
        "revoked": "revoked",
        "now": now,
        "by": by,
        "delete_at": delete_at,
        "bucket": expiry_bucket(delete_at),
        "event": event(now, "revoked", by),
        "empty": [],
    }
    if pending_only:
        condition += " AND user_status = :pending"
        named["pending"] = "pending"
    new = conditional_update(
        from_item,
        TableName=table(),
        Key=user_key(user_id),
        UpdateExpression=(
            "SET grant_status = :revoked, revoked_at = :now, revoked_by = :by,"
            " #ttl = :delete_at, expiry_bucket = :bucket, due_at = :delete_at, due_bucket = :bucket,"
            " history = list_append(if_not_exists(history, :empty), :event)"
            " REMOVE link_hash, code_hash, code_expires_at, code_tries"
        ),
        ConditionExpression=f"attribute_exists(pk) AND {condition}",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues=values(**named),
        ReturnValues="ALL_NEW",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    return keep_newest_history(from_item(new))


def deactivate_link(user_id: str, *, now: int, by: str) -> Reader:
    """The reader's link stops matching; the grant stays. ConditionFailed(None) when there is no reader."""
    new = conditional_update(
        TableName=table(),
        Key=user_key(user_id),
        UpdateExpression=(
            "SET link_deactivated_at = :now, history = list_append(if_not_exists(history, :empty), :event)"
            " REMOVE link_hash, code_hash, code_expires_at, code_tries"
        ),
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues=values(now=now, event=event(now, "link_deactivated", by), empty=[]),
        ReturnValues="ALL_NEW",
    )
    return keep_newest_history(from_item(new))


def keep_newest_history(reader: Reader) -> Reader:
    """After a write that added to the reader's history: keep only its newest HISTORY_KEPT events.

    A second write, only once there are more (a list can't be appended to and cut in one expression).
    It applies only if nothing was added since, which a later write then trims; the older events are gone.
    """
    if len(reader.history) <= HISTORY_KEPT:
        return reader
    kept = reader.history[-HISTORY_KEPT:]
    applied(
        TableName=table(),
        Key=user_key(reader.user_id),
        UpdateExpression="SET history = :kept",
        ConditionExpression="size(history) = :seen",
        ExpressionAttributeValues=values(kept=[e.model_dump() for e in kept], seen=len(reader.history)),
    )
    return reader.model_copy(update={"history": kept})


def update_profile(
    user_id: str, *, name: dict[str, str], role: str | None, merge: Callable[[Reader], dict[str, dict]]
) -> Reader:
    """Set name parts and the role, and the metadata fields (trusted_metadata, untrusted_metadata) `merge`
    computes from the reader as read; the write applies only while those fields are as read (a concurrent
    update: read again, a few times).

    Returns the reader as written; ConditionFailed(None) when there is no reader.
    """
    for _ in range(CONFLICT_ATTEMPTS):
        item = get(user_key(user_id))
        if item is None:
            raise ConditionFailed(None)
        sets = [f"#name.#{part} = :name_{part}" for part in name]
        names = ({"#name": "name"} if name else {}) | {f"#{part}": part for part in name}
        named: dict[str, Any] = {f"name_{part}": value for part, value in name.items()}
        conditions = ["attribute_exists(pk)"]
        if role is not None:
            sets.append("#role = :role")
            names["#role"], named["role"] = "role", role
        raw: dict[str, dict] = {}
        for field, value in merge(from_item(item)).items():
            sets.append(f"#{field} = :{field}")
            names[f"#{field}"], named[field] = field, json.dumps(value, separators=(",", ":"))
            if field in item:
                conditions.append(f"#{field} = :old_{field}")
                raw[f":old_{field}"] = item[field]
            else:
                conditions.append(f"attribute_not_exists(#{field})")
        if not sets:
            return from_item(item)
        try:
            new = conditional_update(
                TableName=table(),
                Key=user_key(user_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values(**named) | raw,
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed:
            continue  # deleted (the next read says so) or its metadata changed meanwhile
        return from_item(new)
    raise ServiceUnavailable("Too many concurrent updates of this user; retry.", headers={"Retry-After": "1"})


def set_email_status(user_id: str, status: str, *, at: int) -> bool:
    """Mark the reader's address bounced or complained (a later event of the same kind keeps the first time)."""
    return applied(
        TableName=table(),
        Key=user_key(user_id),
        UpdateExpression="SET email_status = :status, email_status_at = :at",
        ConditionExpression=(
            "attribute_exists(pk) AND (attribute_not_exists(email_status) OR email_status <> :status)"
        ),
        ExpressionAttributeValues=values(status=status, at=at),
    )


def list_readers(
    *, email_prefix: str | None, filter_expression: str | None, filter_values: dict, limit: int, start: dict | None
) -> tuple[list[Reader], dict | None]:
    """One page of readers in email order, from the `by_email` index (one Query, never a scan).

    A filter can make a page shorter than `limit`; the returned key continues after it.
    """
    condition = "list_partition = :partition"
    named = {"partition": "READER"} | filter_values
    if email_prefix:
        condition += " AND begins_with(email, :prefix)"
        named["prefix"] = email_prefix
    request: dict[str, Any] = {
        "TableName": table(),
        "IndexName": EMAIL_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values(**named),
        "Limit": limit,
    }
    if filter_expression:
        request["FilterExpression"] = filter_expression
    if start:
        request["ExclusiveStartKey"] = start
    with throttling_as_503():
        page = client().query(**request)
    return [from_item(item) for item in page["Items"]], page.get("LastEvaluatedKey")


def extend_session(
    user_id: str, sid: str, session_hash: str, *, now: int, expires_at: int, claims_json: str | None
) -> Reader:
    """Touch a live session (and move its expiry, set its custom claims); ConditionFailed if it is not live."""
    sets = ["sessions.#sid.last_accessed_at = :now", "sessions.#sid.expires_at = :expires"]
    named: dict[str, Any] = {"now": now, "expires": expires_at, "h": session_hash}
    if claims_json is not None:
        sets.append("sessions.#sid.custom_claims_json = :claims")
        named["claims"] = claims_json
    new = conditional_update(
        TableName=table(),
        Key=user_key(user_id),
        UpdateExpression="SET " + ", ".join(sets),
        ConditionExpression="sessions.#sid.h = :h AND sessions.#sid.expires_at > :now",
        ExpressionAttributeNames={"#sid": sid},
        ExpressionAttributeValues=values(**named),
        ReturnValues="ALL_NEW",
    )
    return from_item(new)


def remove_sessions(user_id: str, sids: list[str], *, only_if_present: bool = True) -> bool:
    """End sessions (revoke, prune expired ones, or the oldest past the cap); False if `only_if_present`
    and the first was gone. Many are ended a batch a write, so each expression stays within DynamoDB's 4 KB."""
    for start in range(0, len(sids), _REMOVE_BATCH):
        batch = sids[start : start + _REMOVE_BATCH]
        request: dict[str, Any] = {
            "TableName": table(),
            "Key": user_key(user_id),
            "UpdateExpression": "REMOVE " + ", ".join(f"sessions.#s{i}" for i in range(len(batch))),
            "ExpressionAttributeNames": {f"#s{i}": sid for i, sid in enumerate(batch)},
        }
        if only_if_present and start == 0:
            request["ConditionExpression"] = "attribute_exists(sessions.#s0)"
        if not applied(**request):
            return False
    return True
