"""Magic-link tokens: made here, hashed here, parsed here.

A token is base64url(user uuid, 16 bytes || 32 random bytes): 64 URL-safe characters.
The uuid only locates the reader's item so authenticate is one conditional write; the
256 random bits are the secret. Only HMAC-SHA256(server key, token) is ever stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import uuid

from . import keyring

RANDOM_BYTES = 32
TOKEN_LENGTH = 64  # base64url of 48 bytes, no padding needed
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{64}")


def new_token(user_uuid: uuid.UUID) -> str:
    raw = user_uuid.bytes + secrets.token_bytes(RANDOM_BYTES)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def locate(token: str) -> uuid.UUID | None:
    """The user uuid a well-formed token points at, or None for anything else."""
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    return uuid.UUID(bytes=raw[:16])


def token_hash(key: bytes, token: str) -> str:
    return keyring.keyed_hash(key, token.encode("ascii"))


def token_hashes(keys: list[bytes], token: str) -> list[str]:
    """The token's hash under each key still accepted (current first)."""
    return [token_hash(key, token) for key in keys]


def s256(code_verifier: str) -> str:
    """PKCE's S256: base64url(SHA-256(verifier)), unpadded (RFC 7636)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
