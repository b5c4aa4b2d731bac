"""A user's erasure: their reader item and everything else the table holds about them, deleted together."""

from __future__ import annotations

from ..models.items import Reader
from .access_requests import request_key
from .dynamo import ConditionFailed, email_key, idempotency_store, query_all, table, transact, user_key, values
from .expiry import TRANSACTION_LIMIT


def _keys(**request: object) -> list[dict]:
    items = query_all(TableName=table(), ProjectionExpression="pk, sk", **request)
    return [{"pk": item["pk"], "sk": item["sk"]} for item in items]


def _related(reader: Reader, counter_subjects: list[str]) -> list[dict]:
    """The keys of the other items that hold the user: the email's access request, its rate-limit counters
    (one Query each, on the table's key), and the idempotency records whose answer names the user.

    Those records are found by one Query of their partition with a filter: it reads every record still in
    the table (a day's invites with an Idempotency-Key, and any TTL has not removed yet) to keep the few
    that name this user.
    """
    keys = [request_key(reader.email)]
    for subject in counter_subjects:
        keys += _keys(KeyConditionExpression="pk = :pk", ExpressionAttributeValues=values(pk=f"RATE#{subject}"))
    records = idempotency_store()
    keys += _keys(
        KeyConditionExpression="pk = :pk",
        FilterExpression="contains(#data, :user_id)",
        ExpressionAttributeNames={"#data": records.data_attr},
        ExpressionAttributeValues=values(pk=records.static_pk_value, user_id=reader.user_id),
    )
    return keys


def _delete(key: dict) -> dict:
    return {"Delete": {"TableName": table(), "Key": key}}


def erase(reader: Reader, *, counter_subjects: list[str]) -> None:
    """Delete the reader (and with it their grant, link and sessions), their email pointer, the email's access
    request, its rate-limit counters (`counter_subjects`) and the idempotency records that name the user.

    One transaction, unless there are more than 100 items: then the extra ones go first, so that a deletion
    that dies halfway leaves the reader in place, to be deleted again. ConditionFailed if the reader is gone.
    """
    others = [_delete(key) for key in _related(reader, counter_subjects)]
    room = TRANSACTION_LIMIT - 2
    for start in range(room, len(others), TRANSACTION_LIMIT):
        transact(others[start : start + TRANSACTION_LIMIT], lambda _: None)
    user = {
        "Delete": {
            "TableName": table(),
            "Key": user_key(reader.user_id),
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    pointer = {
        "Delete": {
            "TableName": table(),
            "Key": email_key(reader.email),
            "ConditionExpression": "attribute_not_exists(pk) OR user_id = :user_id",
            "ExpressionAttributeValues": values(user_id=reader.user_id),
        }
    }

    def refused(reasons: list[dict]) -> Exception | None:
        if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons[:2]):
            return ConditionFailed(None)
        return None

    transact([user, pointer, *others[:room]], refused)
