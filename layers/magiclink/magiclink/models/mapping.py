"""From stored items to wire shapes: a reader as a ReaderView row, a Stytch User, a Stytch Session."""

from __future__ import annotations

from typing import Any

from .fields import iso
from .items import Reader, SessionEntry
from .responses import AccessRequestView, ReaderView, Session, SessionAttributes, User, UserEmail


def _iso_or_none(epoch: int | None) -> str | None:
    return None if epoch is None else iso(epoch)


def view_of(reader: Reader, now: int) -> ReaderView:
    return ReaderView(
        user_id=reader.user_id,
        email_id=reader.email_id,
        email=reader.email,
        name=reader.name,
        role=reader.role,
        status=reader.grant_status_at(now),
        user_status=reader.user_status,
        invited_at=iso(reader.invited_at),
        invited_by=reader.invited_by,
        access_expires_at=_iso_or_none(reader.access_expires_at),
        link_state=reader.link_state_at(now),
        link_delivery=reader.link_delivery_at(now),
        link_expires_at=_iso_or_none(reader.link_expires_at),
        link_reusable=reader.link_reusable,
        last_authenticated_at=_iso_or_none(reader.last_authenticated_at),
        authentication_count=reader.authentication_count,
        revoked_at=_iso_or_none(reader.revoked_at),
        revoked_by=reader.revoked_by,
        last_requested_at=_iso_or_none(reader.last_requested_at),
        email_status=reader.email_status or "deliverable",
        history=[{"at": iso(e.at), "event": e.event, "by": e.by} for e in reader.history],
    )


GRANT_CLAIM = "magiclink/grant"


def service_claims(reader: Reader) -> dict[str, Any]:
    """The claims the service adds beside the caller's: the grant and its role. The JWT carries them at its top
    level and the session object among its custom_claims, so a remote sessions.authenticate and an SDK's local
    JWT verification show the same."""
    return {GRANT_CLAIM: {"id": reader.grant_id, "role": reader.role}}


def session_of(reader: Reader, entry: SessionEntry, session_id: str) -> Session:
    return Session(
        session_id=session_id,
        user_id=reader.user_id,
        started_at=entry.started_at_iso(),
        last_accessed_at=entry.last_accessed_at_iso(),
        expires_at=entry.expires_at_iso(),
        attributes=SessionAttributes(**entry.attributes()),
        authentication_factors=entry.factors(reader),
        custom_claims=entry.custom_claims | service_claims(reader),
        roles=[reader.role],
    )


def user_of(reader: Reader) -> User:
    return User(
        user_id=reader.user_id,
        emails=[UserEmail(email_id=reader.email_id, email=reader.email, verified=reader.user_status == "active")],
        status=reader.user_status,
        name=reader.name,
        created_at=iso(reader.created_at),
        trusted_metadata=reader.trusted_metadata,
        untrusted_metadata=reader.untrusted_metadata,
        roles=[reader.role],
    )


def access_request_view_of(record: dict) -> AccessRequestView:
    """A stranger's stored request (store.access_requests.pending's rows) as the console shows it."""
    return AccessRequestView(
        email=record["email"], requested_at=iso(record["requested_at"]), request_count=record["request_count"]
    )
