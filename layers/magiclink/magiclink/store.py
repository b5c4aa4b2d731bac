"""The one module that talks to DynamoDB.

Single table, two item kinds:
  USER#<user_id> / USER    the reader: user, grant and the current link's keyed hash (see models.Reader)
  EMAIL#<email>  / EMAIL   a pointer email -> user_id that makes an email unique
Items due for deletion carry `ttl` (epoch seconds) and `expiry_bucket` (the ttl's UTC day), which
put them in the sparse `by_expiry` index the cleanup job reads; DynamoDB's TTL is only a backstop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from .errors import ServiceUnavailable
from .models import Reader
from .settings import get_settings

EXPIRY_INDEX = "by_expiry"
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
_JSON_FIELDS = ("trusted_metadata", "untrusted_metadata")
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class ConditionFailed(Exception):
    """A conditional write did not apply; `item` is the item as it was (None when there was none)."""

    def __init__(self, item: Reader | None):
        super().__init__("condition failed")
        self.item = item


@cache
def _client():
    config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)
    return boto3.client("dynamodb", config=config)


def _table() -> str:
    return get_settings().table_name


@contextmanager
def _calls() -> Iterator[None]:
    """Throttling that outlasted botocore's retries becomes a 503 with Retry-After."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _THROTTLED:
            raise ServiceUnavailable(headers={"Retry-After": "1"}) from exc
        raise


def _user_key(user_id: str) -> dict:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}


def _email_key(email: str) -> dict:
    return {"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}}


def _to_item(reader: Reader) -> dict:
    data = reader.model_dump(exclude_none=True)
    for field in _JSON_FIELDS:
        data[field] = json.dumps(data[field], separators=(",", ":"))
    return {k: _serialize(v) for k, v in data.items()} | _user_key(reader.user_id)


def _from_item(item: dict) -> Reader:
    data = {k: _deserialize(v) for k, v in item.items() if k not in ("pk", "sk", "ttl", "expiry_bucket")}
    for field in _JSON_FIELDS:
        data[field] = json.loads(data.get(field, "{}"))
    return Reader.model_validate(data)


def _values(**values: Any) -> dict:
    return {f":{k}": _serialize(v) for k, v in values.items()}


def expiry_bucket(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def find_user_id(email: str) -> str | None:
    with _calls():
        item = _client().get_item(TableName=_table(), Key=_email_key(email), ConsistentRead=True).get("Item")
    return item["user_id"]["S"] if item else None


def create_reader(reader: Reader, *, replaces_user_id: str | None = None) -> None:
    """Write a new reader and claim its email; ConditionFailed if someone claimed the email first.

    `replaces_user_id` lets the claim take over an email pointer whose reader item is gone
    (a revoked invite that expiry removed half of).
    """
    claim = "attribute_not_exists(pk)"
    values = None
    if replaces_user_id:
        claim += " OR user_id = :stale"
        values = _values(stale=replaces_user_id)
    email_put = {
        "TableName": _table(),
        "Item": _email_key(reader.email) | {"user_id": {"S": reader.user_id}},
        "ConditionExpression": claim,
    }
    if values:
        email_put["ExpressionAttributeValues"] = values
    try:
        with _calls():
            _client().transact_write_items(
                TransactItems=[
                    {"Put": email_put},
                    {
                        "Put": {
                            "TableName": _table(),
                            "Item": _to_item(reader),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
    except _client().exceptions.TransactionCanceledException as exc:
        raise ConditionFailed(None) from exc


def reissue_link(
    user_id: str,
    *,
    now: int,
    renew: bool,
    link_hash: str,
    link_expires_at: int,
    link_reusable: bool,
    link_url: str,
    invited_by: str,
    role: str,
    access_expires_at: int | None,
    profile: dict[str, Any],
) -> Reader:
    """Give an existing reader a new link (the old one stops matching) and the invite's grant terms.

    Without `renew` it applies only to a live grant (pending or active, not past its access expiry)
    and keeps its status; with `renew` it restarts a revoked or expired grant as pending.
    Returns the reader as it was before; ConditionFailed (with the old item) when it did not apply.
    """
    sets = {
        "link_hash": link_hash,
        "link_issued_at": now,
        "link_expires_at": link_expires_at,
        "link_reusable": link_reusable,
        "link_url": link_url,
        "invited_at": now,
        "invited_by": invited_by,
        "role": role,
    }
    sets.update({k: json.dumps(v, separators=(",", ":")) if k in _JSON_FIELDS else v for k, v in profile.items()})
    removes = ["link_used_at"]
    if access_expires_at is None:
        removes.append("access_expires_at")
    else:
        sets["access_expires_at"] = access_expires_at
    values = {f"v_{k}": v for k, v in sets.items()}
    if renew:
        sets["grant_status"] = "pending"
        values["v_grant_status"] = "pending"
        removes += ["revoked_at", "revoked_by", "ttl", "expiry_bucket"]
        condition = "attribute_exists(pk)"
    else:
        values |= {"pending": "pending", "active": "active", "now": now}
        condition = (
            "grant_status IN (:pending, :active)"
            " AND (attribute_not_exists(access_expires_at) OR access_expires_at > :now)"
        )
    names = {f"#{k}": k for k in [*sets, *removes]}
    update = "SET " + ", ".join(f"#{k} = :v_{k}" for k in sets) + " REMOVE " + ", ".join(f"#{k}" for k in removes)
    try:
        with _calls():
            old = _client().update_item(
                TableName=_table(),
                Key=_user_key(user_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_values(**values),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
    except _client().exceptions.ConditionalCheckFailedException as exc:
        raise ConditionFailed(_from_item(exc.response["Item"]) if "Item" in exc.response else None) from exc
    return _from_item(old)


def consume_link(user_id: str, link_hash: str, *, now: int) -> Reader:
    """The single-use step: one conditional write that spends the link and activates user and grant.

    Applies only if the link is the reader's current one, unexpired, unspent (or reusable), and the
    grant is live. Returns the reader after the write; ConditionFailed (with the old item) otherwise.
    """
    try:
        with _calls():
            new = _client().update_item(
                TableName=_table(),
                Key=_user_key(user_id),
                UpdateExpression=(
                    "SET link_used_at = :now, user_status = :active, grant_status = :active,"
                    " last_authenticated_at = :now,"
                    " authentication_count = if_not_exists(authentication_count, :zero) + :one"
                ),
                ConditionExpression=(
                    "link_hash = :hash AND link_expires_at > :now"
                    " AND (attribute_not_exists(link_used_at) OR link_reusable = :true)"
                    " AND grant_status IN (:pending, :active)"
                    " AND (attribute_not_exists(access_expires_at) OR access_expires_at > :now)"
                ),
                ExpressionAttributeValues=_values(
                    now=now, hash=link_hash, active="active", pending="pending", zero=0, one=1, true=True
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
    except _client().exceptions.ConditionalCheckFailedException as exc:
        raise ConditionFailed(_from_item(exc.response["Item"]) if "Item" in exc.response else None) from exc
    return _from_item(new)


def revoke_invite(user_id: str, *, now: int, by: str, delete_at: int) -> None:
    """End a pending invite: its link stops matching, and the reader is due for deletion at `delete_at`.

    Applies only while the user is pending (a revoked invite revoked again is fine);
    ConditionFailed carries the reader as it is otherwise, or None if it is gone.
    """
    try:
        with _calls():
            _client().update_item(
                TableName=_table(),
                Key=_user_key(user_id),
                UpdateExpression=(
                    "SET grant_status = :revoked, revoked_at = if_not_exists(revoked_at, :now),"
                    " revoked_by = if_not_exists(revoked_by, :by),"
                    " #ttl = :delete_at, expiry_bucket = :bucket REMOVE link_hash"
                ),
                ConditionExpression="user_status = :pending",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues=_values(
                    revoked="revoked",
                    now=now,
                    by=by,
                    pending="pending",
                    delete_at=delete_at,
                    bucket=expiry_bucket(delete_at),
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
    except _client().exceptions.ConditionalCheckFailedException as exc:
        raise ConditionFailed(_from_item(exc.response["Item"]) if "Item" in exc.response else None) from exc


def expired_readers(bucket: str, *, now: int) -> Iterator[tuple[str, str]]:
    """(user_id, email) of the readers in one day's expiry bucket whose ttl has passed; reads only those."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": EXPIRY_INDEX,
        "KeyConditionExpression": "expiry_bucket = :bucket AND #ttl <= :now",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": _values(bucket=bucket, now=now),
    }
    while True:
        with _calls():
            page = _client().query(**kwargs)
        for item in page["Items"]:
            yield item["pk"]["S"].removeprefix("USER#"), item["email"]["S"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def delete_reader(user_id: str, email: str, *, now: int) -> bool:
    """Delete an expired reader and its email pointer together.

    Only if its ttl is still past: a re-invite may have revived it since the index was read.
    """
    try:
        with _calls():
            _client().transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": _table(),
                            "Key": _user_key(user_id),
                            "ConditionExpression": "#ttl <= :now",
                            "ExpressionAttributeNames": {"#ttl": "ttl"},
                            "ExpressionAttributeValues": _values(now=now),
                        }
                    },
                    {
                        "Delete": {
                            "TableName": _table(),
                            "Key": _email_key(email),
                            "ConditionExpression": "attribute_not_exists(pk) OR user_id = :user_id",
                            "ExpressionAttributeValues": _values(user_id=user_id),
                        }
                    },
                ]
            )
    except _client().exceptions.TransactionCanceledException:
        return False
    return True
