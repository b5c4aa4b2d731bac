"""The stored items and their state rules: a reader (user, grant, current link, sessions, history) as
one DynamoDB item, and what its state is at a given time."""

from __future__ import annotations

import hmac
import json
from typing import Any, Literal

from .fields import (
    Attributes,
    GrantStatus,
    HistoryEventName,
    JsonObject,
    LazyModel,
    LinkDelivery,
    LinkState,
    Name,
    UserStatus,
    iso,
)

# How long a link may stay "sending" (written, its email not yet handed to SES) before it counts as not
# delivered: longer than any function's timeout, so only a send that died on the way is left there.
DELIVERY_GRACE_SECONDS = 120
# What one reader's item holds at most, so that it stays far below DynamoDB's 400 KB item limit: a session
# is up to ~9 KB (a 1,024-character user agent, custom claims of up to Stytch's 4 KB), a history event
# ~0.3 KB. A new session past the cap ends the oldest; history keeps the newest events (each was logged).
MAX_SESSIONS = 20
HISTORY_KEPT = 50
# Tries a one-time code allows: each is counted before the code is checked, so concurrent guesses never get
# more; once they are spent the code and its link are dead, and the person asks for a new link.
MAX_CODE_TRIES = 5


class HistoryEvent(LazyModel):
    at: int
    event: HistoryEventName
    by: str | None = None


class SessionEntry(LazyModel):
    """One session, as kept in its reader's item (`sessions.<sid>`); `h` is the token's keyed hash."""

    h: str
    started_at: int
    last_accessed_at: int
    expires_at: int
    authenticated_at: int
    ip_address: str = ""
    user_agent: str = ""
    custom_claims_json: str = "{}"
    factor: Literal["magic_link", "otp"] = "magic_link"  # how it was signed in to: the link, or its code

    @property
    def custom_claims(self) -> JsonObject:
        return json.loads(self.custom_claims_json)

    def started_at_iso(self) -> str:
        return iso(self.started_at)

    def last_accessed_at_iso(self) -> str:
        return iso(self.last_accessed_at)

    def expires_at_iso(self) -> str:
        return iso(self.expires_at)

    def attributes(self) -> dict[str, str]:
        return {"ip_address": self.ip_address, "user_agent": self.user_agent}

    def factors(self, reader: Reader) -> list[dict[str, Any]]:
        return [
            {
                "type": self.factor,
                "delivery_method": "email",
                "last_authenticated_at": iso(self.authenticated_at),
                "email_factor": {"email_id": reader.email_id, "email_address": reader.email},
            }
        ]


class Reader(LazyModel):
    """One reader: the user, their grant, and their current link (only its hash). One DynamoDB item."""

    user_id: str
    email_id: str
    email: str
    name: Name = Name()
    user_status: UserStatus = "pending"
    created_at: int
    locale: str = "en"
    trusted_metadata: JsonObject = {}
    untrusted_metadata: JsonObject = {}
    grant_id: str
    role: str = "reader"
    grant_status: GrantStatus = "pending"
    invited_at: int
    invited_by: str
    inviter_name: str | None = None
    access_expires_at: int | None = None
    last_authenticated_at: int | None = None
    authentication_count: int = 0
    revoked_at: int | None = None
    revoked_by: str | None = None
    link_hash: str | None = None
    link_issued_at: int | None = None
    link_expires_at: int | None = None
    link_used_at: int | None = None
    link_reusable: bool = False
    link_url: str | None = None
    link_deactivated_at: int | None = None
    link_code_challenge: str | None = None
    link_session_minutes: int | None = None
    link_delivery: Literal["sending", "sent", "failed", "none"] | None = None
    link_sent_at: int | None = None
    link_message_id: str | None = None
    link_delivery_error: str | None = None
    code_hash: str | None = None
    code_expires_at: int | None = None
    code_tries: int = 0
    invite_attributes: Attributes | None = None
    sessions: dict[str, SessionEntry] = {}
    last_requested_at: int | None = None
    history: list[HistoryEvent] = []
    email_status: Literal["bounced", "complained"] | None = None
    email_status_at: int | None = None

    def sessions_over_cap(self, now: int, *, adding: int = 0, keep: str = "") -> list[str]:
        """The sessions to end so that, with `adding` more, the reader holds at most MAX_SESSIONS: expired
        ones first, then the oldest started; never `keep`."""
        excess = len(self.sessions) + adding - MAX_SESSIONS
        if excess <= 0:
            return []
        others = [(sid, entry) for sid, entry in self.sessions.items() if sid != keep]
        by_age = sorted(others, key=lambda s: (s[1].expires_at > now, s[1].started_at))
        return [sid for sid, _ in by_age[:excess]]

    def grant_status_at(self, now: int) -> GrantStatus:
        """The status as of `now`: a live grant past its access expiry is expired even before cleanup says so."""
        live = self.grant_status in ("pending", "active")
        if live and self.access_expires_at is not None and self.access_expires_at <= now:
            return "expired"
        return self.grant_status

    def link_usable(self, link_hashes: list[str], now: int) -> bool:
        """Whether one of `link_hashes` (a token's hash under each accepted key) is this reader's current
        link, and it may still be spent (PKCE and device aside)."""
        return (
            self.link_hash is not None
            and any(hmac.compare_digest(self.link_hash, h) for h in link_hashes)
            and self.link_state_at(now) == "active"
            and self.grant_status_at(now) in ("pending", "active")
        )

    def code_live(self, now: int) -> bool:
        """Whether the current link has a code that is unexpired, its link current, unexpired and unspent, and
        the grant live: its tries and its hash aside (the write that spends it checks both)."""
        return (
            self.code_hash is not None
            and (self.code_expires_at or 0) > now
            and self.link_hash is not None
            and (self.link_expires_at or 0) > now
            and self.link_used_at is None
            and self.grant_status_at(now) in ("pending", "active")
        )

    def code_usable(self, now: int) -> bool:
        """Whether the current link has a code that may still be tried (its hash aside)."""
        return self.code_live(now) and self.code_tries < MAX_CODE_TRIES

    def link_delivery_at(self, now: int) -> LinkDelivery:
        if self.link_delivery == "none":
            return "returned"
        if self.link_delivery == "failed":
            return "not_delivered"
        if self.link_delivery == "sending":
            late = self.link_issued_at is None or now - self.link_issued_at > DELIVERY_GRACE_SECONDS
            return "not_delivered" if late else "sending"
        return "sent"

    def link_state_at(self, now: int) -> LinkState:
        if self.link_hash is None:
            return "deactivated" if self.link_deactivated_at or self.revoked_at else "none"
        if self.link_used_at is not None and not self.link_reusable:
            return "used"
        if self.code_tries >= MAX_CODE_TRIES:
            return "deactivated"  # its code was guessed at too often: code and link are dead together
        if self.link_expires_at is None or self.link_expires_at <= now:
            return "expired"
        return "active"
