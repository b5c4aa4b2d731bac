"""The scheduled cleanup: deletes what is past its retention, found through the expiry index (never a scan)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, store
from .observability import logger, metrics
from .settings import get_settings


def run(now: int | None = None) -> dict[str, int]:
    """Delete revoked readers and access requests whose retention has passed.

    Looks back `cleanup_lookback_days` day buckets; anything older is left to DynamoDB's TTL.
    Idempotent: an interrupted run leaves the rest in the index for the next one.
    """
    now = clock.now() if now is None else now
    lookback = get_settings().cleanup_lookback_days
    today = datetime.fromtimestamp(now, UTC)
    found = deleted = 0
    for days_ago in range(lookback, -1, -1):
        bucket = store.expiry_bucket(int((today - timedelta(days=days_ago)).timestamp()))
        for key, email in store.expired_items(bucket, now=now):
            found += 1
            deleted += store.delete_expired(key, email, now=now)
    metrics.add_metric(name="CleanupDeleted", unit=MetricUnit.Count, value=deleted)
    logger.info("cleanup finished", extra={"found": found, "deleted": deleted, "buckets": lookback + 1})
    return {"found": found, "deleted": deleted}
