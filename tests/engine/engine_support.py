"""Helpers for the engine suite: many callers released at once, and the stored items read back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3

from local import stack
from magiclink.errors import ServiceError


def outcome(call: Callable[[], Any]) -> tuple[int, Any]:
    """(status, value): 200 and what the call returned, or the status the HTTP layer answers its error with
    (http.make_resolver: a ServiceError carries its own; anything else is a 500) and the error itself."""
    try:
        return 200, call()
    except ServiceError as exc:
        return exc.status_code, exc
    except Exception as exc:
        return 500, exc


def together(calls: list[Callable[[], Any]]) -> list[tuple[int, Any]]:
    """Run every call on its own thread, all released at once; their outcomes, in the order given."""
    barrier = threading.Barrier(len(calls), timeout=60)

    def run(call: Callable[[], Any]) -> tuple[int, Any]:
        barrier.wait()
        return outcome(call)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def describe(outcomes: list[tuple[int, Any]]) -> str:
    """The failed outcomes, for an assertion message."""
    return "; ".join(f"{status} {value!r}" for status, value in outcomes if status != 200)[:2000]


def item(pk: str, sk: str) -> dict | None:
    """One stored item, read consistently (tests only)."""
    client = boto3.client("dynamodb")
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    return client.get_item(TableName=stack.local_names()["Table"], Key=key, ConsistentRead=True).get("Item")


def reader_item(user_id: str) -> dict | None:
    return item(f"USER#{user_id}", "USER")


def pointer_item(email: str) -> dict | None:
    return item(f"EMAIL#{email}", "EMAIL")


def day_of(epoch: int) -> str:
    """The UTC day an epoch falls on: what `expiry_bucket` holds for a `ttl`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")
