"""Scheduled (EventBridge): expire grants and delete what is past its retention, through the indexes."""

from typing import Any

from magiclink import cleanup
from magiclink.observability import logger, metrics, traced


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handle(event: dict, context: Any) -> dict[str, int]:
    return cleanup.run(time_left=lambda: context.get_remaining_time_in_millis() / 1000)


lambda_handler = traced(handle)
