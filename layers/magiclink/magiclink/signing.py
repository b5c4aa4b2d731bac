"""The one module that talks to KMS: signs with the session key, and reads public keys (cached)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .errors import ServiceUnavailable

# KMS's answers that mean "retry later": throttled, or KMS or the key briefly unavailable
# (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#API_Sign_Errors).
_RETRYABLE = {"ThrottlingException", "DependencyTimeoutException", "KMSInternalException", "KeyUnavailableException"}


@cache
def _client():
    return boto3.client("kms", config=Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=3))


@contextmanager
def _unavailable_as_503() -> Iterator[None]:
    """KMS throttling (or unavailability) that outlasted botocore's retries becomes a 503 with Retry-After."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _RETRYABLE:
            raise ServiceUnavailable(headers={"Retry-After": "1"}) from exc
        raise


def sign_rs256(key_id: str, message: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 (JWS RS256) by the KMS key; the private key never leaves KMS.

    KMS is given the message's SHA-256 digest (MessageType DIGEST): it signs a RAW message of at most 4,096
    bytes (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html), a digest of any message, and
    the signature is the same.
    """
    with _unavailable_as_503():
        return _client().sign(
            KeyId=key_id,
            Message=hashlib.sha256(message).digest(),
            MessageType="DIGEST",
            SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256",
        )["Signature"]


@cache
def public_key_der(key_id: str) -> bytes:
    """The key's public half (DER); cached for the container's life, since it never changes."""
    with _unavailable_as_503():
        return _client().get_public_key(KeyId=key_id)["PublicKey"]
