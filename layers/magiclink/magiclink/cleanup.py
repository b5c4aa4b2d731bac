"""The scheduled cleanup: expires grants and deletes what is past its retention, found through the
`by_due` and `by_expiry` indexes, never a scan: the items it reads are the items it has work for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, store
from .models.items import Reader
from .observability import logger, metrics
from .settings import get_settings

_SAFETY_SECONDS = 10  # stop a pass this long before the function's timeout


def _buckets(now: int) -> list[str]:
    lookback = get_settings().cleanup_lookback_days
    today = datetime.fromtimestamp(now, UTC)
    return [store.dynamo.expiry_bucket(int((today - timedelta(days=d)).timestamp())) for d in range(lookback, -1, -1)]


def _settle(reader: Reader, due_at: int, now: int) -> str:
    """What a due reader needs now, written in one conditional update; returns what was done."""
    status = reader.grant_status_at(now)
    pending_link_over = status == "pending" and reader.link_expires_at is not None and reader.link_expires_at <= now
    if status == "expired" or pending_link_over:
        done = store.expiry.settle(reader, due_at, now=now, expire=True, next_due=None)
        return "expired" if done else "skipped"
    times = (reader.access_expires_at, reader.link_expires_at, *(e.expires_at for e in reader.sessions.values()))
    ahead = [t for t in times if t is not None and t > now]
    done = store.expiry.settle(reader, due_at, now=now, expire=False, next_due=min(ahead) if ahead else None)
    return "rescheduled" if done else "skipped"


def run(now: int | None = None, *, time_left: Callable[[], float] | None = None) -> dict[str, int]:
    """One cleanup pass over the index buckets of the last `cleanup_lookback_days` days (older ones are
    left to DynamoDB's TTL):

    - readers whose access expired, and pending invites whose link expired, are marked expired
      (and readers that were only due a look are rescheduled), expired sessions pruned on the way;
    - revoked readers and access requests past their retention are deleted, in batches.
    Idempotent, and it stops early when `time_left()` (seconds) runs short: what is left stays in the
    indexes for the next run.
    """
    now = clock.now() if now is None else now
    counts = {"expired": 0, "rescheduled": 0, "skipped": 0, "found": 0, "deleted": 0, "stopped_early": 0}
    for bucket in _buckets(now):
        if time_left is not None and time_left() < _SAFETY_SECONDS:
            counts["stopped_early"] = 1
            break
        # Deletions first: a reader deleted here is not settled below (its due time is its deletion).
        expired = list(store.expiry.expired_items(bucket, now=now))
        counts["found"] += len(expired)
        counts["deleted"] += store.expiry.delete_expired(expired, now=now)
        for reader, due_at in store.expiry.due_readers(bucket, now=now):
            counts[_settle(reader, due_at, now)] += 1
    for name in ("expired", "deleted"):
        metrics.add_metric(name=f"Cleanup{name.capitalize()}", unit=MetricUnit.Count, value=counts[name])
    logger.info("cleanup finished", extra=counts)
    return counts
