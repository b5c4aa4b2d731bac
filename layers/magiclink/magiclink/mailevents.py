"""SES bounce and complaint events (configuration set -> SNS -> here): mark the reader's address.

Accepts both shapes SES publishes: event publishing ("eventType") and feedback notifications
("notificationType"). Only permanent bounces mark an address bounced; transient ones are counted.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, store
from .models.fields import normalize_email
from .observability import logger, metrics


def _recipients(event: dict, kind: str) -> list[str]:
    if kind == "Bounce":
        return [r["emailAddress"] for r in event["bounce"].get("bouncedRecipients", [])]
    return [r["emailAddress"] for r in event["complaint"].get("complainedRecipients", [])]


def handle(sns_records: list[dict]) -> dict[str, int]:
    counts = {"bounced": 0, "soft_bounced": 0, "complained": 0, "marked": 0, "unknown": 0}
    now = clock.now()
    for record in sns_records:
        event = json.loads(record["Sns"]["Message"])
        kind = event.get("eventType") or event.get("notificationType")
        if kind not in ("Bounce", "Complaint"):
            continue
        if kind == "Bounce" and event["bounce"].get("bounceType") != "Permanent":
            counts["soft_bounced"] += 1
            continue
        status = "bounced" if kind == "Bounce" else "complained"
        for address in _recipients(event, kind):
            counts[status] += 1
            try:
                user_id = store.reader.find_user_id(normalize_email(address))
            except ValueError:
                user_id = None
            if user_id is None:
                counts["unknown"] += 1
                continue
            counts["marked"] += store.reader.set_email_status(user_id, status, at=now)
    metrics.add_metric(name="EmailsBounced", unit=MetricUnit.Count, value=counts["bounced"])
    metrics.add_metric(name="EmailsComplained", unit=MetricUnit.Count, value=counts["complained"])
    logger.info("mail events", extra=counts)
    return counts
