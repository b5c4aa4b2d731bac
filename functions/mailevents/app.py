"""SNS (from the SES configuration set): mark readers whose address bounced or complained."""

from typing import Any

from magiclink import mailevents
from magiclink.observability import logger, metrics, traced


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handle(event: dict, context: Any) -> dict[str, int]:
    return mailevents.handle(event["Records"])


lambda_handler = traced(handle)
