"""Shapes on the wire (`*Request` / `*Response`, Stytch's field names) and the stored reader item."""

from __future__ import annotations

import hmac
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

LOCALES = ("en", "es", "fr", "pt-br")

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def normalize_email(value: str) -> str:
    """Trim, lower-case the domain (IDNA-encoded), and refuse anything SES could not deliver to."""
    value = value.strip()
    local, sep, domain = value.rpartition("@")
    if not sep or not local or len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        raise ValueError("email format is invalid")
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError("email format is invalid") from exc
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise ValueError("email format is invalid")
    email = f"{local}@{domain}"
    if len(email) > 254:
        raise ValueError("email is longer than 254 characters")
    return email


def normalize_locale(value: str) -> str:
    locale = value.strip().lower()
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}")
    return locale


Email = Annotated[str, Field(max_length=320, json_schema_extra={"format": "email"}), AfterValidator(normalize_email)]
Locale = Annotated[str, Field(max_length=16), AfterValidator(normalize_locale)]
Metadata = dict[str, Any]
# Names go into email bodies and pages (escaped); control characters (CR/LF included) are never a name.
NamePart = Annotated[str, Field(max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")]
SessionMinutes = Annotated[int, Field(strict=True, ge=5, le=527040)]
TemplateId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# RFC 7636: the verifier is 43..128 unreserved characters; the S256 challenge is 43 base64url characters.
CodeVerifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{43,128}$")]
CodeChallenge = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strict=True)


class Name(WireModel):
    first_name: NamePart = ""
    middle_name: NamePart = ""
    last_name: NamePart = ""


class Attributes(WireModel):
    ip_address: Annotated[str, Field(max_length=64)] | None = None
    user_agent: Annotated[str, Field(max_length=1024)] | None = None


class AuthenticateOptions(WireModel):
    ip_match_required: StrictBool = False
    user_agent_match_required: StrictBool = False


# --- requests -------------------------------------------------------------------------------


class InviteRequest(WireModel):
    email: Email
    name: Name | None = None
    invite_magic_link_url: Annotated[str, Field(max_length=2048)] | None = None
    invite_expiration_minutes: Annotated[int, Field(strict=True, ge=5, le=10080)] = 60
    invite_template_id: TemplateId | None = None
    locale: Locale | None = None
    attributes: Attributes | None = None
    trusted_metadata: Metadata | None = None
    untrusted_metadata: Metadata | None = None
    # Extensions (not in Stytch's API): the grant's own expiry, its role, reusable links, delivery.
    access_expiration_minutes: Annotated[int, Field(strict=True, ge=1, le=5_256_000)] | None = None
    role: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = "reader"
    reusable: StrictBool = False
    delivery: Literal["email", "none"] = "email"
    force: StrictBool = Field(default=False, description="Send even to an address that hard-bounced before")
    inviter_name: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        default=None, description="Who invites, as the landing page shows it (e.g. 'Grace from Acme')"
    )
    code_challenge: CodeChallenge | None = None
    code_challenge_method: Literal["S256"] | None = None
    session_duration_minutes: SessionMinutes | None = Field(
        default=None,
        description="Hosted mode: on Continue the service authenticates and hands the target a session this long",
    )


class AuthenticateRequest(WireModel):
    token: Annotated[str, Field(min_length=1, max_length=512, repr=False)]
    session_duration_minutes: SessionMinutes | None = None
    session_token: Annotated[str, Field(max_length=512)] | None = Field(default=None, repr=False)
    session_jwt: Annotated[str, Field(max_length=8192)] | None = Field(default=None, repr=False)
    session_custom_claims: Metadata | None = None
    code_verifier: CodeVerifier | None = Field(default=None, repr=False)
    attributes: Attributes | None = None
    options: AuthenticateOptions | None = None


class SessionsAuthenticateRequest(WireModel):
    session_token: Annotated[str, Field(max_length=512)] | None = Field(default=None, repr=False)
    session_jwt: Annotated[str, Field(max_length=8192)] | None = Field(default=None, repr=False)
    session_duration_minutes: SessionMinutes | None = None
    session_custom_claims: Metadata | None = None


class SessionsRevokeRequest(WireModel):
    session_id: Annotated[str, Field(max_length=128)] | None = None
    session_token: Annotated[str, Field(max_length=512)] | None = Field(default=None, repr=False)
    session_jwt: Annotated[str, Field(max_length=8192)] | None = Field(default=None, repr=False)


class RevokeInviteRequest(WireModel):
    email: Email


class SendRequest(WireModel):
    """POST /v1/magic_links/email/send (Stytch): a login link for a user with live access.

    signup_* are accepted for Stytch clients that always send them; a pending user gets the login link too.
    """

    email: Email
    login_magic_link_url: Annotated[str, Field(max_length=2048)] | None = None
    login_expiration_minutes: Annotated[int, Field(strict=True, ge=5, le=10080)] = 60
    login_template_id: TemplateId | None = None
    signup_magic_link_url: Annotated[str, Field(max_length=2048)] | None = None
    signup_expiration_minutes: Annotated[int, Field(strict=True, ge=5, le=10080)] | None = None
    signup_template_id: TemplateId | None = None
    locale: Locale | None = None
    attributes: Attributes | None = None
    code_challenge: CodeChallenge | None = None


class ReaderLinkRequest(WireModel):
    """POST /v1/readers/{email}/links: a new link for an existing reader."""

    force: StrictBool = Field(default=False, description="Send even to an address that hard-bounced before")
    delivery: Literal["email", "none"] = "email"
    reusable: StrictBool = False
    link_expiration_minutes: Annotated[int, Field(strict=True, ge=5, le=10080)] = 60
    magic_link_url: Annotated[str, Field(max_length=2048)] | None = None
    locale: Locale | None = None


class ConsoleName(WireModel):
    first_name: NamePart = ""
    last_name: NamePart = ""


class ConsoleGrantRequest(WireModel):
    """The console's Grant access form."""

    email: Email
    name: ConsoleName = ConsoleName()
    role: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = "reader"
    access_expiration_minutes: Annotated[int, Field(strict=True, ge=1, le=5_256_000)] | None = None
    invite_expiration_minutes: Annotated[int, Field(strict=True, ge=5, le=10080)] = 60
    reusable: StrictBool = False
    delivery: Literal["email", "none"] = "email"


class ConsoleLinkRequest(WireModel):
    delivery: Literal["email", "none"] = "email"
    reusable: StrictBool = False


class RequestLinkRequest(WireModel):
    """POST /v1/magic_links/email/request: a reader (or anyone) asks for a link."""

    email: Email
    locale: Locale | None = None


# --- responses ------------------------------------------------------------------------------


class StytchResponse(BaseModel):
    request_id: str
    status_code: int = 200


class InviteResponse(StytchResponse):
    user_id: str
    email_id: str
    grant_id: str
    grant_renewed: bool = Field(description="True when an expired or revoked grant was renewed")
    magic_link_url: str | None = Field(default=None, description="Only when delivery is none")


class UserEmail(BaseModel):
    email_id: str
    email: str
    verified: bool


class User(BaseModel):
    user_id: str
    emails: list[UserEmail]
    status: Literal["pending", "active"]
    name: Name
    created_at: str
    trusted_metadata: Metadata
    untrusted_metadata: Metadata
    roles: list[str]
    is_locked: bool = False
    phone_numbers: list[Any] = []
    webauthn_registrations: list[Any] = []
    providers: list[Any] = []
    totps: list[Any] = []
    crypto_wallets: list[Any] = []
    biometric_registrations: list[Any] = []
    password: None = None


class SessionAttributes(BaseModel):
    ip_address: str = ""
    user_agent: str = ""


class Session(BaseModel):
    """Stytch's session object."""

    session_id: str
    user_id: str
    started_at: str
    last_accessed_at: str
    expires_at: str
    attributes: SessionAttributes
    authentication_factors: list[dict[str, Any]]
    custom_claims: Metadata
    roles: list[str]


class AuthenticateResponse(StytchResponse):
    user_id: str
    method_id: str
    user: User
    session_token: str = ""
    session_jwt: str = ""
    session: Session | None = None
    reset_sessions: bool = False
    grant_id: str
    role: str


class RevokeInviteResponse(StytchResponse):
    pass


class SessionsAuthenticateResponse(StytchResponse):
    session: Session
    session_token: str
    session_jwt: str
    user: User


class SessionsRevokeResponse(StytchResponse):
    pass


class JwksResponse(StytchResponse):
    keys: list[dict[str, Any]]


LinkState = Literal["active", "used", "expired", "deactivated", "none"]
LinkDelivery = Literal["sent", "sending", "not_delivered", "returned"]
# How long a link may stay "sending" (written, its email not yet handed to SES) before it counts as not
# delivered: longer than any function's timeout, so only a send that died on the way is left there.
DELIVERY_GRACE_SECONDS = 120


class HistoryEvent(BaseModel):
    at: int
    event: Literal["invited", "renewed", "link_issued", "link_deactivated", "revoked", "expired"]
    by: str | None = None


class ReaderView(BaseModel):
    """One row of GET /v1/readers: the grant, its user and its link state. Times are RFC 3339 UTC."""

    user_id: str
    email_id: str
    email: str
    name: Name
    role: str
    status: GrantStatus
    user_status: UserStatus
    invited_at: str
    invited_by: str
    access_expires_at: str | None
    link_state: LinkState
    link_delivery: LinkDelivery = Field(
        description="sent: SES accepted the email; sending: not yet; not_delivered: the send failed or died on the"
        " way (a re-link sends a new one); returned: delivery none, the link went back to the caller"
    )
    link_expires_at: str | None
    link_reusable: bool
    last_authenticated_at: str | None
    authentication_count: int
    revoked_at: str | None
    revoked_by: str | None
    last_requested_at: str | None
    email_status: Literal["deliverable", "bounced", "complained"]
    history: list[dict[str, str | None]]


class ListReadersResponse(StytchResponse):
    readers: list[ReaderView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class SendResponse(StytchResponse):
    user_id: str
    email_id: str


class ReaderLinkResponse(StytchResponse):
    user_id: str
    email_id: str
    grant_id: str
    magic_link_url: str
    delivery: Literal["email", "none"]


class ReaderResponse(StytchResponse):
    reader: ReaderView


class ConsoleReaderResponse(BaseModel):
    reader: ReaderView
    magic_link_url: str | None = None


class AccessRequestView(BaseModel):
    email: str
    requested_at: str
    request_count: int


class ConsoleRequestsResponse(BaseModel):
    requests: list[AccessRequestView]


class RequestLinkResponse(StytchResponse):
    outcome: Literal["link_sent", "access_requested", "no_access", "accepted"]
    message_html: str


class ErrorResponse(BaseModel):
    status_code: int
    request_id: str
    error_type: str
    error_message: str
    error_url: str


# --- storage --------------------------------------------------------------------------------

UserStatus = Literal["pending", "active"]
GrantStatus = Literal["pending", "active", "revoked", "expired"]


class SessionEntry(BaseModel):
    """One session, as kept in its reader's item (`sessions.<sid>`); `h` is the token's keyed hash."""

    h: str
    started_at: int
    last_accessed_at: int
    expires_at: int
    authenticated_at: int
    ip_address: str = ""
    user_agent: str = ""
    custom_claims_json: str = "{}"

    @property
    def custom_claims(self) -> Metadata:
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
                "type": "magic_link",
                "delivery_method": "email",
                "last_authenticated_at": iso(self.authenticated_at),
                "email_factor": {"email_id": reader.email_id, "email_address": reader.email},
            }
        ]


class Reader(BaseModel):
    """One reader: the user, their grant, and their current link (only its hash). One DynamoDB item."""

    user_id: str
    email_id: str
    email: str
    name: Name = Name()
    user_status: UserStatus = "pending"
    created_at: int
    locale: str = "en"
    trusted_metadata: Metadata = {}
    untrusted_metadata: Metadata = {}
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
    invite_attributes: Attributes | None = None
    sessions: dict[str, SessionEntry] = {}
    last_requested_at: int | None = None
    history: list[HistoryEvent] = []
    email_status: Literal["bounced", "complained"] | None = None
    email_status_at: int | None = None

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
        if self.link_expires_at is None or self.link_expires_at <= now:
            return "expired"
        return "active"


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def session_of(reader: Reader, entry: SessionEntry, session_id: str) -> Session:
    return Session(
        session_id=session_id,
        user_id=reader.user_id,
        started_at=entry.started_at_iso(),
        last_accessed_at=entry.last_accessed_at_iso(),
        expires_at=entry.expires_at_iso(),
        attributes=SessionAttributes(**entry.attributes()),
        authentication_factors=entry.factors(reader),
        custom_claims=entry.custom_claims,
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
