"""The requests on the wire (`*Request`): Stytch's field names and limits, and this service's extensions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, StrictBool, TypeAdapter

from .fields import (
    Attributes,
    AuthenticateOptions,
    CodeChallenge,
    CodeVerifier,
    Email,
    Locale,
    Metadata,
    Name,
    NamePart,
    SessionMinutes,
    TemplateId,
    Text,
    WireModel,
)


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
    inviter_name: Annotated[Text, Field(min_length=1, max_length=128)] | None = Field(
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
    telemetry_id: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="Accepted and ignored: Stytch's device fingerprinting (a Stytch-only product)"
    )


class SessionsAuthenticateRequest(WireModel):
    session_token: Annotated[str, Field(max_length=512)] | None = Field(default=None, repr=False)
    session_jwt: Annotated[str, Field(max_length=8192)] | None = Field(default=None, repr=False)
    session_duration_minutes: SessionMinutes | None = None
    session_custom_claims: Metadata | None = None
    authorization_check: Metadata | None = Field(
        default=None, description="Accepted and ignored: Stytch's RBAC authorization check (a Stytch-only product)"
    )


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
    # Stytch adds the email to this user (or the session's); here a user has one email, so these must name
    # the email's own user (400 duplicate_email otherwise).
    user_id: Annotated[str, Field(max_length=128)] | None = None
    session_token: Annotated[str, Field(max_length=512)] | None = Field(default=None, repr=False)
    session_jwt: Annotated[str, Field(max_length=8192)] | None = Field(default=None, repr=False)


# The endpoints below are Stytch's, added for apps that call more of its API: every field Stytch defines
# is accepted, and null means absent (the SDKs send null for an optional field of a nested model).
LinkMinutes = Annotated[int, Field(strict=True, ge=5, le=10080)]
LinkUrl = Annotated[str, Field(max_length=2048)]
Role = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
UserId = Annotated[str, Field(max_length=128)]


class LoginOrCreateRequest(WireModel):
    """POST /v1/magic_links/email/login_or_create: a login link for a known email; an unknown one is
    signed up or refused, as the deployment's SignupPolicy says."""

    email: Email
    login_magic_link_url: LinkUrl | None = None
    signup_magic_link_url: LinkUrl | None = None
    login_expiration_minutes: LinkMinutes | None = None
    signup_expiration_minutes: LinkMinutes | None = None
    login_template_id: TemplateId | None = None
    signup_template_id: TemplateId | None = None
    attributes: Attributes | None = None
    create_user_as_pending: StrictBool | None = Field(
        default=None, description="Accepted; a user here is pending until their first authentication either way"
    )
    code_challenge: CodeChallenge | None = None
    locale: Locale | None = None


class MagicLinkCreateRequest(WireModel):
    """POST /v1/magic_links: an embeddable link's token, for the app to deliver itself."""

    user_id: UserId
    expiration_minutes: LinkMinutes | None = None
    attributes: Attributes | None = Field(default=None, description="Accepted (Stytch uses it for fraud checks)")


class NameInput(WireModel):
    """A name as the Users API takes it: each part optional, null meaning not given."""

    first_name: NamePart | None = None
    middle_name: NamePart | None = None
    last_name: NamePart | None = None

    def given(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)


def _refuse(value: object) -> None:
    if value is not None:
        raise ValueError("not supported by this service, which serves email users only")


# A field Stytch defines for a product this service does not have (phone numbers, external ids).
Unsupported = Annotated[None, BeforeValidator(_refuse), Field(description="Not supported here: absent or null")]


class UserCreateRequest(WireModel):
    """POST /v1/users: a pending user (and grant) with no link and nothing sent."""

    email: Email
    name: NameInput | None = None
    attributes: Attributes | None = Field(default=None, description="Accepted (Stytch uses it for fraud checks)")
    phone_number: Unsupported = None
    create_user_as_pending: StrictBool | None = Field(
        default=None, description="Accepted; a user here is pending until their first authentication either way"
    )
    trusted_metadata: Metadata | None = None
    untrusted_metadata: Metadata | None = None
    external_id: Unsupported = None
    roles: Annotated[list[Role], Field(max_length=1)] | None = Field(
        default=None, description="At most one: the grant's role (default reader)"
    )


class UserUpdateRequest(WireModel):
    """PUT /v1/users/{user_id}: name parts and roles replace, metadata merges at the top level (null deletes)."""

    user_id: UserId | None = Field(default=None, description="Stytch's Python SDK repeats the path's user_id")
    name: NameInput | None = None
    attributes: Attributes | None = Field(default=None, description="Accepted (Stytch uses it for fraud checks)")
    trusted_metadata: Metadata | None = None
    untrusted_metadata: Metadata | None = None
    external_id: Unsupported = None
    roles: Annotated[list[Role], Field(max_length=1)] | None = Field(
        default=None, description="At most one: the grant's role"
    )


class SearchOperand(WireModel):
    filter_name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    filter_value: Any = None


class SearchQuery(WireModel):
    operator: Literal["AND", "OR"]
    operands: Annotated[list[SearchOperand], Field(max_length=20)] | None = None


class UsersSearchRequest(WireModel):
    cursor: Annotated[str, Field(max_length=4096)] | None = None
    limit: Annotated[int, Field(strict=True, ge=1, le=1000)] | None = None
    query: SearchQuery | None = None


class CreatedBetween(WireModel):
    greater_than: AwareDatetime
    less_than: AwareDatetime


# What each supported search filter's filter_value must be (Stytch's types); any other filter is refused.
_IDS = Annotated[list[UserId], Field(min_length=1, max_length=100)]
SEARCH_FILTERS: dict[str, TypeAdapter] = {
    "user_id": TypeAdapter(_IDS),
    "email_address": TypeAdapter(Annotated[list[Email], Field(min_length=1, max_length=100)]),
    "email_address_fuzzy": TypeAdapter(Annotated[str, Field(min_length=1, max_length=254)]),
    "status": TypeAdapter(Literal["active", "pending"]),
    "created_at_greater_than": TypeAdapter(AwareDatetime),
    "created_at_less_than": TypeAdapter(AwareDatetime),
    "created_at_between": TypeAdapter(CreatedBetween),
}


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


# Stytch's email OTP: a one-time code by email (here it comes with its link: either signs the person in).
OtpMinutes = Annotated[int, Field(strict=True, ge=1, le=10)]


class OtpSendRequest(WireModel):
    """POST /v1/otps/email/send: a code (and its link) for a user with live access."""

    email: Email
    expiration_minutes: OtpMinutes | None = None
    attributes: Attributes | None = None
    locale: Locale | None = None
    user_id: UserId | None = None
    session_token: Annotated[str, Field(max_length=512)] | None = Field(default=None, repr=False)
    session_jwt: Annotated[str, Field(max_length=8192)] | None = Field(default=None, repr=False)
    login_template_id: TemplateId | None = None
    signup_template_id: TemplateId | None = None


class OtpLoginOrCreateRequest(WireModel):
    """POST /v1/otps/email/login_or_create: a known email's code; an unknown one as the SignupPolicy says."""

    email: Email
    expiration_minutes: OtpMinutes | None = None
    attributes: Attributes | None = None
    create_user_as_pending: StrictBool | None = Field(
        default=None, description="Accepted; a user here is pending until their first authentication either way"
    )
    locale: Locale | None = None
    login_template_id: TemplateId | None = None
    signup_template_id: TemplateId | None = None


class OtpAuthenticateRequest(WireModel):
    """POST /v1/otps/authenticate: `method_id` is the email_id the send answered with."""

    method_id: Annotated[str, Field(min_length=1, max_length=128)]
    code: Annotated[str, Field(min_length=1, max_length=32, repr=False)]
    attributes: Attributes | None = None
    options: AuthenticateOptions | None = None
    session_token: Annotated[str, Field(max_length=512)] | None = Field(default=None, repr=False)
    session_duration_minutes: SessionMinutes | None = None
    session_jwt: Annotated[str, Field(max_length=8192)] | None = Field(default=None, repr=False)
    session_custom_claims: Metadata | None = None
    telemetry_id: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="Accepted and ignored: Stytch's device fingerprinting (a Stytch-only product)"
    )
