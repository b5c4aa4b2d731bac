"""GET /v1/readers: every grant with its user and link state, by index, a page at a time."""

from __future__ import annotations

from . import clock, keyring, store
from .errors import InvalidCursor
from .models.fields import GrantStatus
from .models.mapping import view_of
from .models.responses import ReaderView

# What each status filter means, as of :now (a live grant past its access expiry counts as expired).
_STATUS_FILTERS: dict[str, tuple[str, dict]] = {
    "pending": (
        "grant_status = :pending AND (attribute_not_exists(access_expires_at) OR access_expires_at > :now)",
        {"pending": "pending"},
    ),
    "active": (
        "grant_status = :active AND (attribute_not_exists(access_expires_at) OR access_expires_at > :now)",
        {"active": "active"},
    ),
    "expired": (
        "grant_status = :expired OR (grant_status IN (:pending, :active) AND access_expires_at <= :now)",
        {"expired": "expired", "pending": "pending", "active": "active"},
    ),
    "revoked": ("grant_status = :revoked", {"revoked": "revoked"}),
}


def encode_cursor(last_key: dict, filters: list) -> str:
    """An opaque cursor: the index position and the filters it belongs to, signed so it cannot be forged."""
    return keyring.dumps("cursor", {"k": last_key, "f": filters})


def decode_cursor(cursor: str, filters: list) -> dict:
    try:
        decoded = keyring.loads("cursor", cursor)
    except keyring.BadSignature:
        raise InvalidCursor() from None
    if not isinstance(decoded, dict) or decoded.get("f") != filters or not isinstance(decoded.get("k"), dict):
        raise InvalidCursor()
    return decoded["k"]


def normalize_prefix(prefix: str | None) -> str | None:
    """Emails are stored with their domain lower-cased; a prefix that reaches the domain is matched alike."""
    if not prefix or not prefix.strip():
        return None
    local, at, domain = prefix.strip().partition("@")
    return f"{local}{at}{domain.lower()}"


def list_readers(
    *, status: GrantStatus | None, email_prefix: str | None, limit: int, cursor: str | None
) -> tuple[list[ReaderView], str | None]:
    now = clock.now()
    prefix = normalize_prefix(email_prefix)
    filters = [status, prefix]
    start = decode_cursor(cursor, filters) if cursor else None
    expression, values = _STATUS_FILTERS[status] if status else (None, {})
    if expression and ":now" in expression:  # DynamoDB refuses a value that no expression uses
        values = values | {"now": now}
    readers, last_key = store.reader.list_readers(
        email_prefix=prefix, filter_expression=expression, filter_values=values, limit=limit, start=start
    )
    return [view_of(r, now) for r in readers], encode_cursor(last_key, filters) if last_key else None
