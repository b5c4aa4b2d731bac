"""Retried requests: with an Idempotency-Key header, a retry answers what the first request did, without
doing it again (no second email, no second token), through powertools idempotency.

The first answer is kept in the table for a day; the fields named `sealed` (a magic link URL, which holds
a token) are kept encrypted under a key derived from the token key, so the table never holds a token.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import Any

from . import keyring, store
from .errors import BadRequest, IdempotencyKeyConflict, RequestInProgress

KEEP_SECONDS = 24 * 3600
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def _fernet():
    """Fernet (AES-CBC + HMAC) under keys derived from the token keys: the current one seals, any opens."""
    from cryptography.fernet import Fernet, MultiFernet

    derived = keyring.derived_keys("idempotency-record")
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in derived])


def _seal(answer: dict, fields: Iterable[str], fernet: Any) -> dict:
    return answer | {f: fernet.encrypt(answer[f].encode()).decode() for f in fields if answer.get(f) is not None}


def _open(answer: dict, fields: Iterable[str], fernet: Any) -> dict:
    return answer | {f: fernet.decrypt(answer[f].encode()).decode() for f in fields if answer.get(f) is not None}


def once(key: str, body: dict, run: Callable[[], dict], context: Any, *, sealed: tuple[str, ...] = ()) -> dict:
    """`run()`'s answer for the first request with this key and body; the same answer for its retries.

    The same key with another body is 409 idempotency_key_conflict; while the first is still running,
    409 request_in_progress. The answer's `sealed` fields are stored encrypted.
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

    fernet = _fernet() if sealed else None  # the keys derived once, for the seal and the opening

    @idempotent_function(
        data_keyword_argument="request", persistence_store=store.dynamo.idempotency_store(), config=config
    )
    def first(request: dict) -> dict:
        return _seal(run(), sealed, fernet)

    try:
        return _open(first(request={"key": key, "body": body}), sealed, fernet)
    except IdempotencyValidationError:
        raise IdempotencyKeyConflict() from None
    except IdempotencyAlreadyInProgressError:
        raise RequestInProgress(headers={"Retry-After": "1"}) from None
