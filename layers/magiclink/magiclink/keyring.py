"""The one way the service signs and keyed-hashes values under the token keys: the current key signs,
every key still in the secret (current, then `previous_keys`) verifies, so a rotation signs nobody out.

Signatures are itsdangerous' (HMAC-SHA256, a key derived per purpose, so a value signed for one purpose
never verifies for another): cursors, the owner's grant links, CSRF tokens. Keyed hashes (the stored
form of link and session tokens) and per-purpose derived keys (the idempotency seal) come from here too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from itsdangerous import BadSignature, Signer
from itsdangerous.encoding import base64_decode, base64_encode

from .credentials import token_keys

__all__ = ["BadSignature", "derived_keys", "dumps", "keyed_hash", "loads", "signature", "signature_valid"]
# HMAC-SHA256 under a key derived per purpose as HMAC(key, purpose).
_SIGNING = {"digest_method": hashlib.sha256, "key_derivation": "hmac"}


def _oldest_first() -> list[bytes]:
    return list(reversed(token_keys()))  # itsdangerous signs with the last key and tries all


def dumps(purpose: str, value: Any) -> str:
    """`value` as compact JSON, base64url, signed for `purpose` with the current key: `<payload>.<signature>`."""
    payload = base64_encode(json.dumps(value, separators=(",", ":"), sort_keys=True))
    return _signer(purpose).sign(payload).decode()


def loads(purpose: str, signed: str) -> Any:
    """What `dumps` signed for `purpose` under any key still accepted; BadSignature for anything else."""
    payload = _signer(purpose).unsign(signed)
    try:
        return json.loads(base64_decode(payload))
    except ValueError as exc:  # signed by us, so only a key shared with another program could get here
        raise BadSignature("payload is not JSON") from exc


def _signer(purpose: str) -> Signer:
    return Signer(_oldest_first(), salt=purpose, **_SIGNING)


def signature(purpose: str, value: str) -> str:
    """`value`'s signature for `purpose` under the current key."""
    return _signer(purpose).get_signature(value).decode()


def signature_valid(purpose: str, value: str, presented: str | None) -> bool:
    """Whether `presented` is `value`'s signature for `purpose` under any key still accepted (constant time)."""
    return bool(presented) and _signer(purpose).verify_signature(value, presented or "")


def keyed_hash(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message` under `key`, hex: the stored form of a token (never the token itself)."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def derived_keys(purpose: str, keys: list[bytes] | None = None) -> list[bytes]:
    """A 32-byte key for `purpose` derived from each accepted token key (or each of `keys`), current first."""
    signer = Signer([b"-"], salt=purpose, **_SIGNING)  # derive_key uses only the salt and the key it is given
    return [signer.derive_key(key) for key in (token_keys() if keys is None else keys)]
