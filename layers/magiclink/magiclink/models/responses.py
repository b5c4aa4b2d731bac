"""The responses on the wire (`*Response`), with Stytch's User and Session objects and the reader rows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .fields import GrantStatus, JsonObject, LazyModel, LinkDelivery, LinkState, Name, UserStatus


class StytchResponse(LazyModel):
    request_id: str
    status_code: int = 200


class InviteResponse(StytchResponse):
    user_id: str
    email_id: str
    grant_id: str
    grant_renewed: bool = Field(description="True when an expired or revoked grant was renewed")
    magic_link_url: str | None = Field(default=None, description="Only when delivery is none")


class UserEmail(LazyModel):
    email_id: str
    email: str
    verified: bool


class User(LazyModel):
    user_id: str
    emails: list[UserEmail]
    status: Literal["pending", "active"]
    name: Name
    created_at: str
    trusted_metadata: JsonObject
    untrusted_metadata: JsonObject
    roles: list[str]
    is_locked: bool = False
    phone_numbers: list[Any] = []
    webauthn_registrations: list[Any] = []
    providers: list[Any] = []
    totps: list[Any] = []
    crypto_wallets: list[Any] = []
    biometric_registrations: list[Any] = []
    password: None = None


class SessionAttributes(LazyModel):
    ip_address: str = ""
    user_agent: str = ""


class Session(LazyModel):
    """Stytch's session object."""

    session_id: str
    user_id: str
    started_at: str
    last_accessed_at: str
    expires_at: str
    attributes: SessionAttributes
    authentication_factors: list[dict[str, Any]]
    custom_claims: JsonObject
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


class LoginOrCreateResponse(StytchResponse):
    user_id: str
    email_id: str
    user_created: bool


class MagicLinkCreateResponse(StytchResponse):
    user_id: str
    token: str = Field(description="The link's token, for /v1/magic_links/authenticate; it replaces the user's link")


class UserResponse(StytchResponse, User):
    """GET /v1/users/{user_id}: Stytch's User at the top level of the answer."""


class UserCreateResponse(StytchResponse):
    user_id: str
    email_id: str
    status: Literal["pending", "active"]
    phone_id: str = ""
    user: User


class UserUpdateResponse(StytchResponse):
    user_id: str
    emails: list[UserEmail]
    phone_numbers: list[Any] = []
    crypto_wallets: list[Any] = []
    user: User


class UserDeleteResponse(StytchResponse):
    user_id: str


class ResultsMetadata(LazyModel):
    total: int = Field(
        description="Every match when the query names user_id or email_address; otherwise the results on this page"
    )
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class UsersSearchResponse(StytchResponse):
    results: list[User]
    results_metadata: ResultsMetadata


class SessionsGetResponse(StytchResponse):
    sessions: list[Session]


class ReaderView(LazyModel):
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


class ConsoleReaderResponse(LazyModel):
    reader: ReaderView
    magic_link_url: str | None = None


class AccessRequestView(LazyModel):
    email: str
    requested_at: str
    request_count: int


class ConsoleRequestsResponse(LazyModel):
    requests: list[AccessRequestView]


class RequestLinkResponse(StytchResponse):
    outcome: Literal["link_sent", "access_requested", "no_access", "accepted"]
    message_html: str


class ErrorResponse(LazyModel):
    status_code: int
    request_id: str
    error_type: str
    error_message: str
    error_url: str
