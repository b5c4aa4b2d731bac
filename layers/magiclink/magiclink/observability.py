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
