"""The powertools Logger and Metrics every function shares (service and namespace come from the environment),
and X-Ray tracing, off unless the deployment turns it on (EnableTracing)."""

import logging
import os
from collections.abc import Callable

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()


def _no_route_arguments(record: logging.LogRecord) -> bool:
    """Powertools' resolver logs every route's arguments at DEBUG (with POWERTOOLS_DEBUG): tokens, session
    tokens and PKCE verifiers among them. Those lines never leave the function."""
    return not str(record.msg).startswith("Calling API Route Handler")


logging.getLogger("aws_lambda_powertools.event_handler.api_gateway").addFilter(_no_route_arguments)


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() != "true"


def traced(handler: Callable) -> Callable:
    """The handler with powertools' Tracer around it when tracing is on and the X-Ray SDK is in the layer.

    The layer leaves the SDK out (it brings a second botocore that would shadow the runtime's): with
    EnableTracing, Lambda's own X-Ray segments still record every invocation; add aws-xray-sdk to
    layers/magiclink/requirements.txt for subsegments per AWS call. Off, nothing is imported.
    """
    if not tracing_enabled():
        return handler
    try:
        from aws_lambda_powertools import Tracer  # imports the X-Ray SDK: only paid for when tracing is on
    except ImportError:
        return handler
    return Tracer().capture_lambda_handler(handler)
