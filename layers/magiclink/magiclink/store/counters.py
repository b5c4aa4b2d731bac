"""Rate-limit counters: one item per subject and window (`RATE#<subject>` / <window start>), counted
all or none in one transaction; only DynamoDB's TTL removes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .dynamo import table, transact, values


@dataclass(frozen=True)
class Counter:
    """One hit on one window of a rate limit: at most `limit` hits in [start, start + window), each at least
    `spacing` seconds after the one before (0: no spacing), measured from the hit's time `at_ms` (epoch ms) so
    the spacing is a rolling interval, not a clock second."""

    subject: str
    start: int
    window: int
    limit: int
    spacing: int = 0
    at_ms: int = 0


class LimitReached(Exception):
    """A counter refused a hit; `hits` and `last_ms` (the last hit, epoch ms) are what it held (0: unknown)."""

    def __init__(self, counter: Counter, hits: int, last_ms: int):
        super().__init__(f"limit reached: {counter.subject}")
        self.counter, self.hits, self.last_ms = counter, hits, last_ms


def count_action(counter: Counter, now: int) -> dict:
    """The transaction action that counts one hit on `counter`, if it has room."""
    condition = "attribute_not_exists(hits) OR (hits < :limit"
    at_ms = counter.at_ms or now * 1000
    named: dict[str, Any] = {
        "one": 1,
        "at_ms": at_ms,
        "limit": counter.limit,
        "expires": counter.start + counter.window,
    }
    if counter.spacing:
        condition += " AND (attribute_not_exists(last_ms) OR last_ms <= :spaced)"
        named["spaced"] = at_ms - counter.spacing * 1000
    return {
        "Update": {
            "TableName": table(),
            "Key": {"pk": {"S": f"RATE#{counter.subject}"}, "sk": {"S": str(counter.start)}},
            "UpdateExpression": "ADD hits :one SET last_ms = :at_ms, #ttl = :expires",
            "ConditionExpression": condition + ")",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": values(**named),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def refused_counter(counters: list[Counter], reasons: list[dict], offset: int = 0) -> LimitReached | None:
    """The first of `counters` (the transaction's actions from `offset` on) that refused, if any."""
    for counter, reason in zip(counters, reasons[offset:], strict=False):
        if reason.get("Code") == "ConditionalCheckFailed":
            item = reason.get("Item") or {}
            hits = int(item["hits"]["N"]) if "hits" in item else 0
            last_ms = int(item["last_ms"]["N"]) if "last_ms" in item else 0
            return LimitReached(counter, hits, last_ms)
    return None


def count(counters: list[Counter], *, now: int) -> None:
    """Count one hit on every counter, all or none, in one round trip (one transaction).

    LimitReached (the first counter that refused) when any is full or hit too soon; nothing is counted then.
    """
    transact([count_action(counter, now) for counter in counters], lambda r: refused_counter(counters, r))
