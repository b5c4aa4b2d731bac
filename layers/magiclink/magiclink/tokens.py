"""Magic-link tokens: made here, hashed here, parsed here.

A token is base64url(user uuid, 16 bytes || 32 random bytes): 64 URL-safe characters.
The uuid only locates the reader's item so authenticate is one conditional write; the
256 random bits are the secret. Only HMAC-SHA256(server key, token) is ever stored.

Beside every emailed link goes a one-time code: 6 random digits, stored only as HMAC-SHA256(server key,
"code:<user id>:<code>"), in the same item as the link (the two are one credential).
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
CODE_DIGITS = 6
_CODE_SEPARATORS = re.compile(r"[\s-]")


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


def new_code() -> str:
    """A one-time code: CODE_DIGITS random digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def normal_code(typed: str) -> str | None:
    """The code a person typed, without the spaces or dashes they may add; None unless it is 6 digits."""
    code = _CODE_SEPARATORS.sub("", typed or "")[:32]
    return code if len(code) == CODE_DIGITS and code.isascii() and code.isdigit() else None


def code_hash(key: bytes, user_id: str, code: str) -> str:
    """A code's stored form, bound to its user (the same digits for another user hash differently)."""
    return keyring.keyed_hash(key, f"code:{user_id}:{code}".encode("ascii"))


def code_hashes(keys: list[bytes], user_id: str, code: str) -> list[str]:
    """The code's hash under each key still accepted (current first)."""
    return [code_hash(key, user_id, code) for key in keys]
