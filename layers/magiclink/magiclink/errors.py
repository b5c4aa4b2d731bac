"""Every failure the service reports, one class each; http.py maps them to Stytch's error JSON."""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 500
    error_type = "internal_server_error"
    default_message = "An internal error occurred. Please try again."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.headers = headers or {}


class BadRequest(ServiceError):
    status_code = 400
    error_type = "bad_request"
    default_message = "The request is malformed."


class InvalidEmail(BadRequest):
    error_type = "invalid_email"
    default_message = "email format is invalid."


class InvalidLocale(BadRequest):
    error_type = "invalid_locale"
    default_message = "locale must be one of en, es, fr, pt-br."


class InvalidTemplateId(BadRequest):
    error_type = "invalid_template_id"
    default_message = "No template with this id exists in this deployment."


class InvalidRedirectUrl(BadRequest):
    error_type = "invalid_invite_magic_link_url"
    default_message = "invite_magic_link_url is not in this deployment's redirect URL allow-list."


class InvalidLoginRedirectUrl(InvalidRedirectUrl):
    error_type = "invalid_login_magic_link_url"
    default_message = "login_magic_link_url is not in this deployment's redirect URL allow-list."


class InvalidExpiration(BadRequest):
    error_type = "invalid_expiration"
    default_message = "The link's expiration is out of range (5 to 10080 minutes)."


class InvalidSessionDuration(BadRequest):
    error_type = "invalid_session_duration_minutes"
    default_message = "session_duration_minutes is out of range (5 to 527040)."


class NoSessionArguments(BadRequest):
    error_type = "no_session_arguments"
    default_message = "Send session_token or session_jwt."


class NoSessionRevokeArguments(BadRequest):
    error_type = "no_session_revoke_arguments"
    default_message = "Send session_id, session_token or session_jwt."


class TooManySessionArguments(BadRequest):
    error_type = "too_many_session_arguments"
    default_message = "Send only one of session_token and session_jwt (or session_id, on revoke)."


class InvalidCustomClaims(BadRequest):
    error_type = "invalid_session_custom_claims"
    default_message = "session_custom_claims: the session's claims would be over 4 KB of JSON."


class DuplicateEmail(BadRequest):
    error_type = "duplicate_email"
    default_message = "A user with this email already exists (here a user has one email)."


class NoDefaultRedirectUrl(BadRequest):
    error_type = "no_default_invite_redirect_url_set"
    default_message = "No invite_magic_link_url was given and the deployment has no default redirect URL."


class InviteAlreadyAccepted(BadRequest):
    error_type = "invite_already_accepted"
    default_message = (
        "The invite for this email was already accepted; it is no longer pending and cannot be revoked here."
    )


class EmailBounced(BadRequest):
    error_type = "email_bounced"
    default_message = (
        "Mail to this address bounced permanently before, so nothing was sent. Check the address,"
        " or pass force: true to try it again."
    )


class GrantNotActive(BadRequest):
    error_type = "grant_not_active"
    default_message = "This reader's access was revoked or has expired; invite them again to renew it."


class UnsupportedSearchFilter(BadRequest):
    error_type = "unsupported_search_filter"
    default_message = "This search filter is not supported here."


class InvalidMetadata(BadRequest):
    error_type = "invalid_metadata"
    default_message = "Metadata may have at most 20 top-level keys and 4 KB of JSON."


class InvalidCursor(BadRequest):
    error_type = "invalid_cursor"
    default_message = "cursor is invalid: pass back the next_cursor of the previous page, with the same filters."


class PkceMismatch(BadRequest):
    error_type = "pkce_mismatch"
    default_message = "code_verifier does not match the code_challenge the link was made with."


class PkceExpectedCodeVerifier(BadRequest):
    error_type = "pkce_expected_code_verifier"
    default_message = "This link was made with a code_challenge: send its code_verifier."


class PkceUnexpectedCodeVerifier(BadRequest):
    error_type = "pkce_did_not_expect_code_verifier"
    default_message = "This link was made without a code_challenge: send no code_verifier."


class PkceMethodNotSupported(BadRequest):
    error_type = "invalid_code_challenge_method"
    default_message = "code_challenge_method must be S256."


class InvalidSessionJwt(ServiceError):
    status_code = 401
    error_type = "invalid_session_jwt"
    default_message = "session_jwt is malformed, not signed by this project, or for another project."


class Unauthorized(ServiceError):
    status_code = 401
    error_type = "unauthorized_credentials"
    default_message = "Unauthorized credentials: send HTTP Basic auth with your project_id and secret."


class UnableToAuthMagicLink(ServiceError):
    status_code = 401
    error_type = "unable_to_auth_magic_link"
    default_message = "The magic link could not be authenticated because it was used, expired, or revoked."


class DeviceMismatch(ServiceError):
    status_code = 401
    error_type = "unable_to_auth_magic_link"
    default_message = "The magic link could not be authenticated from this device: its IP address or user agent differ."


class SessionNotFound(ServiceError):
    status_code = 404
    error_type = "session_not_found"
    default_message = "No live session matches: it expired, was revoked, or its access ended."


class ConsoleSignInRequired(ServiceError):
    status_code = 401
    error_type = "console_session_expired"
    default_message = "Your console session ended. Sign in again."


class Forbidden(ServiceError):
    status_code = 403
    error_type = "forbidden"
    default_message = "Only admins can use the console."


class SignupNotAllowed(ServiceError):
    status_code = 403
    error_type = "signup_not_allowed"
    default_message = (
        "No user has this email, and this deployment lets in only the users it invites (SignupPolicy"
        " invite_only): invite them first, or deploy with SignupPolicy open."
    )


class CsrfFailed(ServiceError):
    status_code = 403
    error_type = "invalid_csrf_token"
    default_message = "The request's CSRF token is missing or wrong: reload the console and try again."


class MagicLinkNotFound(ServiceError):
    status_code = 404
    error_type = "magic_link_not_found"
    default_message = "The magic link could not be found."


class OtpCodeNotFound(ServiceError):
    """A one-time code that does not work: wrong, expired, spent, superseded, or out of tries (one answer)."""

    status_code = 404
    error_type = "otp_code_not_found"
    default_message = "The OTP code could not be found: it is wrong, expired or spent. Ask for a new one."


class UserNotFound(ServiceError):
    status_code = 404
    error_type = "user_not_found"
    default_message = "User could not be found."


class EmailNotFound(ServiceError):
    status_code = 404
    error_type = "email_not_found"
    default_message = "No user with this email exists."


class ProjectNotFound(ServiceError):
    status_code = 404
    error_type = "project_not_found"
    default_message = "No project with this id is served here."


class RouteNotFound(ServiceError):
    status_code = 404
    error_type = "route_not_found"
    default_message = "No such endpoint."


class IdempotencyKeyConflict(ServiceError):
    status_code = 409
    error_type = "idempotency_key_conflict"
    default_message = "This Idempotency-Key was used with a different request body; use a new key for a new request."


class RequestInProgress(ServiceError):
    status_code = 409
    error_type = "request_in_progress"
    default_message = "A request with this Idempotency-Key is still being handled; retry in a moment."


class TooManyRequests(ServiceError):
    status_code = 429
    error_type = "too_many_requests"
    default_message = "Too many requests for this email. Retry after the time given in Retry-After."


class PayloadTooLarge(ServiceError):
    status_code = 413
    error_type = "request_too_large"
    default_message = "The request body is larger than 64 KiB."


class UnsupportedMediaType(ServiceError):
    status_code = 415
    error_type = "unsupported_media_type"
    default_message = "Send the request body as application/json."


class EmailDeliveryFailed(ServiceError):
    status_code = 502
    error_type = "email_delivery_failed"
    default_message = "The email could not be handed to the mail service. The link was not sent; try again."


class EmailThrottled(EmailDeliveryFailed):
    status_code = 503
    default_message = "The mail service is busy. The link was not sent; retry after the time given in Retry-After."


class EmailRejected(BadRequest):
    error_type = "email_rejected"
    default_message = "The mail service refused this address."


class ServiceUnavailable(ServiceError):
    status_code = 503
    error_type = "service_unavailable"
    default_message = "The service is busy. Retry after the time given in Retry-After."
