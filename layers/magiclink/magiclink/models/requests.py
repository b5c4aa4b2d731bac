"""The requests on the wire (`*Request`): Stytch's field names and limits, and this service's extensions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool

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
