"""The DynamoDB client and the primitives every store module writes with: a conditional update, a
transaction retried on conflict, and throttling turned into a 503."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from ..errors import ServiceUnavailable
from ..models.fields import email_identity
from ..settings import get_settings

EXPIRY_INDEX = "by_expiry"
EMAIL_INDEX = "by_email"
DUE_INDEX = "by_due"
CONFLICT_ATTEMPTS = 4
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
serialize = TypeSerializer().serialize


@cache
def client():
    config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)
    return boto3.client("dynamodb", config=config)


def sibling_client(service_name: str, config: Config):
    """A client for another service from the boto3 session DynamoDB's comes from (boto3's default, as the
    mailer's and signing's): a session of its own would load the endpoint data and models again."""
    return boto3.client(service_name, config=config)


@cache
def idempotency_store():
    """Powertools' idempotency records, kept in the service's table (one partition, `ttl` expiry)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=table(),
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#invite",
        expiry_attr="ttl",
        boto3_client=client(),
    )


def table() -> str:
    return get_settings().table_name


@contextmanager
def throttling_as_503() -> Iterator[None]:
    """Throttling that outlasted botocore's retries becomes a 503 with Retry-After."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _THROTTLED:
            raise ServiceUnavailable(headers={"Retry-After": "1"}) from exc
        raise


def user_key(user_id: str) -> dict:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}


def email_key(email: str) -> dict:
    """The email pointer's key: by the email's identity, so an address is one user whatever its case."""
    return {"pk": {"S": f"EMAIL#{email_identity(email)}"}, "sk": {"S": "EMAIL"}}


def values(**named: Any) -> dict:
    """ExpressionAttributeValues: `name=value` becomes `:name` in DynamoDB's typed form."""
    return {f":{k}": serialize(v) for k, v in named.items()}


def expiry_bucket(epoch: int) -> str:
    """The UTC day an epoch falls in: the partition of the sparse time indexes."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


class ConditionFailed(Exception):
    """A conditional write did not apply; `item` is the item as it was, decoded (None when there was none)."""

    def __init__(self, item: Any):
        super().__init__("condition failed")
        self.item = item


def conditional_update(decode: Callable[[dict], Any] | None = None, **request: Any) -> dict:
    """One UpdateItem whose condition may fail: the item's attributes as ReturnValues asks, or
    ConditionFailed carrying the item as it was (decoded by `decode`, when
    ReturnValuesOnConditionCheckFailure asks for it)."""
    try:
        with throttling_as_503():
            return client().update_item(**request).get("Attributes", {})
    except client().exceptions.ConditionalCheckFailedException as exc:
        old = exc.response.get("Item")
        raise ConditionFailed(decode(old) if old is not None and decode else None) from exc


def applied(**request: Any) -> bool:
    """One UpdateItem whose condition may fail: whether it applied."""
    try:
        conditional_update(**request)
    except ConditionFailed:
        return False
    return True


def get(key: dict) -> dict | None:
    """One strongly consistent GetItem: the item, or None."""
    with throttling_as_503():
        return client().get_item(TableName=table(), Key=key, ConsistentRead=True).get("Item")


def query_all(**request: Any) -> Iterator[dict]:
    """Every item a Query finds, page after page (boto3's paginator); throttling is a 503 here too."""
    pages = client().get_paginator("query").paginate(**request)
    with throttling_as_503():
        for page in pages:
            yield from page["Items"]


def transact(actions: list[dict], refused: Callable[[list[dict]], Exception | None]) -> None:
    """One TransactWriteItems; a cancellation `refused` explains (from the cancellation reasons) raises
    what it returns; a collision with a concurrent transaction is retried a few times with jitter, then 503."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            with throttling_as_503():
                client().transact_write_items(TransactItems=actions)
            return
        except client().exceptions.TransactionCanceledException as exc:
            reason = refused(exc.response.get("CancellationReasons", []))
            if reason is not None:
                raise reason from None
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 (jitter after a transaction conflict)
    raise ServiceUnavailable("Too many concurrent requests; retry.", headers={"Retry-After": "1"})
