"""Retried requests: with an Idempotency-Key header, a retry answers what the first request did, without
doing it again (no second email, no second token), through powertools idempotency."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import store
from .errors import BadRequest, IdempotencyKeyConflict, RequestInProgress

KEEP_SECONDS = 24 * 3600
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def once(key: str, body: dict, run: Callable[[], dict], context: Any) -> dict:
    """`run()`'s answer for the first request with this key and body; the same answer for its retries.

    The same key with another body is 409 idempotency_key_conflict; while the first is still running,
    409 request_in_progress.
    """
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    if not _KEY.fullmatch(key):
        raise BadRequest("Idempotency-Key: 1 to 255 visible ASCII characters.")
    config = IdempotencyConfig(
        event_key_jmespath="key", payload_validation_jmespath="body", expires_after_seconds=KEEP_SECONDS
    )
    if context is not None:
        config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="request", persistence_store=store.idempotency_store(), config=config)
    def first(request: dict) -> dict:
        return run()

    try:
        return first(request={"key": key, "body": body})
    except IdempotencyValidationError:
        raise IdempotencyKeyConflict() from None
    except IdempotencyAlreadyInProgressError:
        raise RequestInProgress(headers={"Retry-After": "1"}) from None
