"""Scheduled (EventBridge): delete what is past its retention, through the expiry index."""

from typing import Any

from magiclink import cleanup
from magiclink.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: Any) -> dict[str, int]:
    return cleanup.run()
