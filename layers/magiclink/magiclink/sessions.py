"""Sessions: opaque session tokens (only their keyed hash is stored) and short-lived signed JWTs.

A session lives in its reader's item (`sessions.<sid>`), so the write that spends a magic link also
creates the session, and revoking the reader's grant ends every session at once.
The session token is base64url(user uuid || sid || 32 random bytes): it locates the reader and the
session; the random part is the secret. JWTs are RS256 (what Stytch issues, so its SDKs' typed JWKS
models parse ours), signed by a KMS key whose private half never leaves KMS; the JWKS publishes the
current key and any previous ones still verifying live tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from functools import cache

from . import clock, keyring, signing, store
from .credentials import project_credentials, token_key, token_keys
from .errors import (
    InvalidCustomClaims,
    InvalidSessionJwt,
    NoSessionArguments,
    NoSessionRevokeArguments,
    SessionNotFound,
    TooManySessionArguments,
    UserNotFound,
)
from .models import mapping
from .models.items import Reader, SessionEntry
from .settings import get_settings

JWT_LIFETIME_SECONDS = 5 * 60  # as Stytch's
SESSION_CLAIM = "https://stytch.com/session"
GRANT_CLAIM = mapping.GRANT_CLAIM
# Stytch ignores custom claims named like a registered JWT claim; the service's own claims can't be set either.
IGNORED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", SESSION_CLAIM, GRANT_CLAIM})
# Stytch's limit on a session's custom claims, the whole map as JSON ("four kilobytes"), so that the JWT
# carrying them stays a header-sized token (https://stytch.com/docs/guides/sessions/custom-claims).
MAX_CLAIMS_BYTES = 4096
_TOKEN_BYTES = 16 + 6 + 32


@dataclass(frozen=True)
class SessionRef:
    user_uuid: uuid.UUID
    sid: str


def new_session_token(user_uuid: uuid.UUID) -> tuple[str, str]:
    """(sid, session_token) for a new session of this user."""
    sid_bytes = secrets.token_bytes(6)
    raw = user_uuid.bytes + sid_bytes + secrets.token_bytes(32)
    return sid_bytes.hex(), base64.urlsafe_b64encode(raw).decode().rstrip("=")


def locate_token(session_token: str) -> SessionRef | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{72}", session_token):
        return None
    try:
        raw = base64.urlsafe_b64decode(session_token + "=" * (-len(session_token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _TOKEN_BYTES:
        return None
    return SessionRef(uuid.UUID(bytes=raw[:16]), raw[16:22].hex())


def session_hash(session_token: str, key: bytes | None = None) -> str:
    """The stored form of a session token: HMAC under `key` (the current token key by default)."""
    return keyring.keyed_hash(key or token_key(), b"session|" + session_token.encode())


def session_hashes(session_token: str) -> list[str]:
    """The token's hash under each key still accepted (current first)."""
    return [session_hash(session_token, key) for key in token_keys()]


def format_session_id(user_uuid: uuid.UUID, sid: str) -> str:
    """Stytch's session id: `session-<environment>-<user uuid>-<sid>`."""
    return f"session-{project_credentials().environment}-{user_uuid}-{sid}"


def parse_session_id(value: str) -> SessionRef | None:
    match = re.fullmatch(r"session-(?:test|live)-([0-9a-f-]{36})-([0-9a-f]{12})", value)
    if not match:
        return None
    try:
        return SessionRef(uuid.UUID(match.group(1)), match.group(2))
    except ValueError:
        return None


def find_session(reader: Reader, ref: SessionRef, now: int, *, token_hashes: list[str] | None = None) -> SessionEntry:
    """The reader's live session `ref`; SessionNotFound when it is unknown, ended, expired, or the grant is."""
    entry = reader.sessions.get(ref.sid)
    if (
        entry is None
        or entry.expires_at <= now
        or reader.grant_status_at(now) not in ("pending", "active")
        or (token_hashes is not None and not any(hmac.compare_digest(entry.h, h) for h in token_hashes))
    ):
        raise SessionNotFound()
    return entry


# --- JWTs -------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@cache
def _public_key(key_id: str) -> tuple[str, dict]:
    """(kid, public JWK) of a KMS signing key; cached for the container's life (public keys don't change)."""
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    numbers = load_der_public_key(signing.public_key_der(key_id)).public_numbers()
    n = _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"))
    e = _b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big"))
    # RFC 7638 thumbprint: the kid names the key itself, not where it is kept.
    kid = _b64(hashlib.sha256(json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":")).encode()).digest())
    jwk = {"kty": "RSA", "use": "sig", "key_ops": ["verify"], "alg": "RS256", "kid": kid, "n": n, "e": e}
    return kid, jwk | {"x5c": [], "x5tS256": ""}


def jwks() -> list[dict]:
    return [_public_key(key_id)[1] for key_id in get_settings().session_signing_key_ids]


def _issuer() -> str:
    return get_settings().public_base_url.rstrip("/")


def session_claims(reader: Reader, entry: SessionEntry, sid_full: str) -> dict:
    return {
        SESSION_CLAIM: {
            "id": sid_full,
            "started_at": entry.started_at_iso(),
            "last_accessed_at": entry.last_accessed_at_iso(),
            "expires_at": entry.expires_at_iso(),
            "attributes": entry.attributes(),
            "authentication_factors": entry.factors(reader),
            "roles": [reader.role],
        },
    } | mapping.service_claims(reader)


def merge_claims(current: dict, update: dict | None) -> str:
    """A session's custom claims after `update`, by Stytch's rules, as the JSON that is stored: a new value sets
    its key (objects merge key by key), null deletes it, reserved claims are ignored; InvalidCustomClaims when
    the result is over 4 KB. Checked before anything is written."""
    merged = _merge(current, {k: v for k, v in (update or {}).items() if k not in IGNORED_CLAIMS})
    if len(json.dumps(merged, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_CLAIMS_BYTES:
        raise InvalidCustomClaims()  # measured as the API's edge measures a request's claims: UTF-8 JSON
    return json.dumps(merged, separators=(",", ":"))


def _merge(current: dict, update: dict) -> dict:
    merged = dict(current)
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            merged[key] = _merge(merged[key] if isinstance(merged.get(key), dict) else {}, value)
        else:
            merged[key] = value
    return merged


def sign_jwt(reader: Reader, entry: SessionEntry, sid_full: str, now: int) -> str:
    """An RS256 JWT for this session, valid JWT_LIFETIME_SECONDS (or until the session ends, if sooner)."""
    key_id = get_settings().session_signing_key_ids[0]
    kid, _ = _public_key(key_id)
    claims = (
        entry.custom_claims
        | session_claims(reader, entry, sid_full)
        | {
            "iss": _issuer(),
            "aud": [project_credentials().project_id],
            "sub": reader.user_id,
            "iat": now,
            "nbf": now,
            "exp": min(now + JWT_LIFETIME_SECONDS, entry.expires_at),
        }
    )
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    parts = [_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)]
    signing_input = ".".join(parts)
    return f"{signing_input}.{_b64(signing.sign_rs256(key_id, signing_input.encode()))}"


def verify_jwt(token: str) -> SessionRef:
    """Check a session JWT's signature, issuer and audience (not its expiry: the session decides that)."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        keys = dict(_public_key(k) for k in get_settings().session_signing_key_ids)
        if header.get("alg") != "RS256" or header.get("kid") not in keys:
            raise InvalidSessionJwt()
        claims = jwt.decode(
            token,
            key=jwt.PyJWK(keys[header["kid"]]).key,
            algorithms=["RS256"],
            audience=project_credentials().project_id,
            issuer=_issuer(),
            options={"verify_exp": False, "require": ["sub", "iss", "aud", "exp"]},
        )
    except jwt.PyJWTError:
        raise InvalidSessionJwt() from None
    ref = parse_session_id(str((claims.get(SESSION_CLAIM) or {}).get("id", "")))
    if ref is None or claims["sub"] != _user_id(ref):
        raise InvalidSessionJwt()
    return ref


# --- sessions/authenticate and sessions/revoke ---------------------------------------------------


@dataclass(frozen=True)
class Current:
    reader: Reader
    entry: SessionEntry
    session_id: str
    session_token: str
    session_jwt: str


def ref_of(session_token: str | None, session_jwt: str | None) -> SessionRef:
    """The session one of `session_token` or `session_jwt` names (exactly one is sent, as Stytch requires)."""
    if session_token and session_jwt:
        raise TooManySessionArguments()
    if session_token:
        ref = locate_token(session_token)
        if ref is None:
            raise SessionNotFound()
        return ref
    if session_jwt:
        return verify_jwt(session_jwt)
    raise NoSessionArguments()


def _user_id(ref: SessionRef) -> str:
    return project_credentials().user_id(ref.user_uuid)


def current(ref: SessionRef, session_token: str | None, now: int) -> tuple[Reader, SessionEntry]:
    """The reader and their live session `ref` (checked against the token's hash when one is given)."""
    reader = store.reader.get_reader(_user_id(ref))
    if reader is None:
        raise SessionNotFound()
    hashes = session_hashes(session_token) if session_token else None
    return reader, find_session(reader, ref, now, token_hashes=hashes)


def authenticate_session(
    session_token: str | None,
    session_jwt: str | None,
    *,
    minutes: int | None = None,
    custom_claims: dict | None = None,
) -> Current:
    """A live session, checked against its reader (so a revoked grant or session fails at once), with a fresh JWT.

    One read; a second write only to extend the session or set its claims, and to prune expired sessions.
    """
    now = clock.now()
    ref = ref_of(session_token, session_jwt)
    reader, entry = current(ref, session_token, now)
    if minutes or custom_claims is not None:
        claims = None if custom_claims is None else merge_claims(entry.custom_claims, custom_claims)
        expires_at = now + minutes * 60 if minutes else entry.expires_at
        try:
            reader = store.reader.extend_session(
                reader.user_id, ref.sid, entry.h, now=now, expires_at=expires_at, claims_json=claims
            )
        except store.dynamo.ConditionFailed:
            raise SessionNotFound() from None
        entry = reader.sessions[ref.sid]
    expired = [sid for sid, other in reader.sessions.items() if other.expires_at <= now]
    if expired:
        store.reader.remove_sessions(reader.user_id, expired, only_if_present=False)
    full_id = format_session_id(ref.user_uuid, ref.sid)
    return Current(reader, entry, full_id, session_token or "", sign_jwt(reader, entry, full_id, now))


def live_sessions(user_id: str) -> tuple[Reader, list[tuple[str, SessionEntry]]]:
    """Stytch's sessions.get: the user's sessions that still authenticate, oldest first, with their ids (none
    once the user's access has ended); 404 user_not_found for an unknown user."""
    now = clock.now()
    reader = store.reader.get_reader(user_id)
    if reader is None:
        raise UserNotFound()
    if reader.grant_status_at(now) not in ("pending", "active"):
        return reader, []
    user_uuid = uuid.UUID(user_id[-36:])
    live = sorted((e.started_at, sid) for sid, e in reader.sessions.items() if e.expires_at > now)
    return reader, [(format_session_id(user_uuid, sid), reader.sessions[sid]) for _, sid in live]


def revoke_session(session_id: str | None, session_token: str | None, session_jwt: str | None) -> None:
    """End one session at once (its token and every JWT it issued stop authenticating)."""
    named = [v for v in (session_id, session_token, session_jwt) if v]
    if not named:
        raise NoSessionRevokeArguments()
    if len(named) > 1:
        raise TooManySessionArguments()
    if session_id:
        ref = parse_session_id(session_id)
        if ref is None:
            raise SessionNotFound()
    else:
        ref = ref_of(session_token, session_jwt)
    if session_token:
        reader = store.reader.get_reader(_user_id(ref))
        if reader is None:
            raise SessionNotFound()
        entry = reader.sessions.get(ref.sid)
        if entry is None or not any(hmac.compare_digest(entry.h, h) for h in session_hashes(session_token)):
            raise SessionNotFound()
    if not store.reader.remove_sessions(_user_id(ref), [ref.sid]):
        raise SessionNotFound()
