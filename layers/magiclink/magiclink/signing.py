"""The one module that talks to KMS: signs with the session key, and reads public keys (cached)."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config


@cache
def _client():
    return boto3.client("kms", config=Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=3))


def sign_rs256(key_id: str, message: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 (JWS RS256) by the KMS key; the private key never leaves KMS."""
    return _client().sign(
        KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256"
    )["Signature"]


@cache
def public_key_der(key_id: str) -> bytes:
    """The key's public half (DER); cached for the container's life, since it never changes."""
    return _client().get_public_key(KeyId=key_id)["PublicKey"]
