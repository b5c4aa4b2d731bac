"""The powertools Logger and Metrics every function shares (service and namespace come from the environment),
and X-Ray tracing, off unless the deployment turns it on (EnableTracing)."""

import os
from collections.abc import Callable

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() != "true"


def traced(handler: Callable) -> Callable:
    """The handler, traced when tracing is on; otherwise unchanged, and the X-Ray SDK never imported."""
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer  # imports the X-Ray SDK: only paid for when tracing is on

    return Tracer().capture_lambda_handler(handler)
