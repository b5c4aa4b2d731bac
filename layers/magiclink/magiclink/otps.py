"""Stytch's email OTP on this service: the code goes out in the login (or invite) email, beside its link,
and either one signs the person in (they are one credential). Knows neither HTTP nor boto3."""

from __future__ import annotations

from . import authentication, grants, store
from .errors import OtpCodeNotFound
from .models.items import Reader
from .models.requests import (
    LoginOrCreateRequest,
    OtpAuthenticateRequest,
    OtpLoginOrCreateRequest,
    OtpSendRequest,
    SendRequest,
)
from .settings import get_settings

MIN_LINK_MINUTES = 5  # the link an OTP email carries lives at least this long (a link's own minimum)


def _minutes(asked: int | None) -> tuple[int, int]:
    """(the link's minutes, the code's): the code lives as asked (else the deployment's CodeLifetimeMinutes);
    its link as long, but at least MIN_LINK_MINUTES."""
    code = asked or get_settings().code_lifetime_minutes
    return max(MIN_LINK_MINUTES, code), code


def send(request: OtpSendRequest, *, by: str) -> Reader:
    """POST /v1/otps/email/send: a code for a user with live access (as magic_links/email/send sends a link)."""
    link, code = _minutes(request.expiration_minutes)
    login = SendRequest(
        email=request.email,
        login_expiration_minutes=link,
        login_template_id=request.login_template_id,
        signup_template_id=request.signup_template_id,
        locale=request.locale,
        attributes=request.attributes,
        user_id=request.user_id,
        session_token=request.session_token,
        session_jwt=request.session_jwt,
    )
    return grants.send(login, by=by, code_minutes=code)


def login_or_create(request: OtpLoginOrCreateRequest, *, by: str) -> tuple[Reader, bool]:
    """POST /v1/otps/email/login_or_create: a known email's code; an unknown one's as the SignupPolicy says."""
    link, code = _minutes(request.expiration_minutes)
    login = LoginOrCreateRequest(
        email=request.email,
        login_expiration_minutes=link,
        signup_expiration_minutes=link,
        login_template_id=request.login_template_id,
        signup_template_id=request.signup_template_id,
        attributes=request.attributes,
        create_user_as_pending=request.create_user_as_pending,
        locale=request.locale,
    )
    return grants.login_or_create(login, by=by, code_minutes=code)


def authenticate(request: OtpAuthenticateRequest) -> authentication.Authenticated:
    """POST /v1/otps/authenticate: the code of the email `method_id`, with the session fields of a link's
    authenticate. An unknown method_id gets the wrong code's answer."""
    user_id = store.reader.find_user_id_by_email_id(request.method_id)
    if user_id is None:
        raise OtpCodeNotFound()
    return authentication.authenticate_code(user_id, request.code, request)
