"""HTTP for every function: the resolver, HTTP Basic auth, and the one mapping from errors to Stytch's JSON."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths

from . import errors
from .credentials import project_credentials
from .models.fields import normalize_email
from .models.responses import ErrorResponse
from .observability import logger, metrics, traced
from .settings import get_settings

MAX_BODY_BYTES = 64 * 1024

# A validation failure on one of these fields gets Stytch's specific error_type.
_FIELD_ERRORS: dict[str, type[errors.ServiceError]] = {
    "email": errors.InvalidEmail,
    "locale": errors.InvalidLocale,
    "invite_magic_link_url": errors.InvalidRedirectUrl,
    "invite_template_id": errors.InvalidTemplateId,
    "code_challenge_method": errors.PkceMethodNotSupported,
}


def request_id(event: dict) -> str:
    context = event.get("requestContext") or {}
    return f"request-id-{context.get('requestId') or 'local'}"


def error_response(error: errors.ServiceError, event: dict) -> Response:
    metrics.add_metric(name="ServerErrors" if error.status_code >= 500 else "ClientErrors", unit="Count", value=1)
    body = ErrorResponse(
        status_code=error.status_code,
        request_id=request_id(event),
        error_type=error.error_type,
        error_message=error.message,
        error_url=get_settings().error_docs_url.format(status_code=error.status_code, error_type=error.error_type),
    )
    return Response(
        status_code=error.status_code,
        content_type="application/json",
        body=body.model_dump_json(),
        headers=error.headers,
    )


def _describe(error: dict) -> tuple[str | None, str]:
    """(the field, a sentence) for one pydantic error, without echoing the rejected value."""
    loc = [str(part) for part in error.get("loc", ())][1:]  # drop where it was: body, query or path
    if error.get("type") == "json_invalid":
        return None, "The request body is not valid JSON."
    if error.get("type") == "missing" and not loc:
        return None, "The request body is required."
    field = ".".join(loc)
    message = error.get("msg", "is invalid").removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "is not a known field"
    return (loc[0] if loc else None), f"{field}: {message}" if field else message


def validation_error(exc: RequestValidationError) -> errors.ServiceError:
    described = [_describe(e) for e in exc.errors()]
    message = "; ".join(text for _, text in described) or "The request is invalid."
    for field, _ in described:
        if field in _FIELD_ERRORS:
            return _FIELD_ERRORS[field](message)
    return errors.BadRequest(message)


def make_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(errors.ServiceError)
    def _service_error(exc: errors.ServiceError) -> Response:
        if exc.status_code >= 500:
            logger.warning("request failed", extra={"error_type": exc.error_type}, exc_info=exc.__cause__ is not None)
        return error_response(exc, app.current_event.raw_event)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        return error_response(validation_error(exc), app.current_event.raw_event)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return error_response(errors.RouteNotFound(), app.current_event.raw_event)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(errors.ServiceError(), app.current_event.raw_event)

    return app


def api_principal() -> str:
    """Who an HTTP Basic request acts as, for the record: the project (admins signed in by name come later)."""
    return project_credentials().project_id


def email_param(value: str) -> str:
    """An email from the path (percent-decoded: `@` often arrives as %40); normalised, or 400 invalid_email."""
    try:
        return normalize_email(unquote(value))
    except ValueError as exc:
        raise errors.InvalidEmail(f"email: {exc}") from None


PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


def html_page(
    body: str,
    status_code: int = 200,
    *,
    csp: str = PAGE_CSP,
    cookies: list | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An HTML answer with headers that keep it out of frames and caches and away from other origins."""
    return Response(
        status_code=status_code,
        content_type="text/html; charset=utf-8",
        body=body,
        cookies=cookies,
        headers={
            "Content-Security-Policy": csp,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        }
        | (headers or {}),
    )


def _header(event: dict, name: str) -> str | None:
    return next((v for k, v in (event.get("headers") or {}).items() if k.lower() == name), None)


def _check_basic_auth(event: dict) -> None:
    header = _header(event, "authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise errors.Unauthorized()
    try:
        project_id, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise errors.Unauthorized() from None
    if not sep or not project_credentials().matches(project_id, secret):
        raise errors.Unauthorized()


def _check_body(event: dict, content_types: tuple[str, ...]) -> None:
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge()
    content_type = (_header(event, "content-type") or "application/json").split(";")[0].strip().lower()
    if body and content_type not in content_types:
        raise errors.UnsupportedMediaType()
    if body and event.get("isBase64Encoded"):  # bytes that aren't text: powertools would fail decoding them
        try:
            base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise errors.BadRequest("The request body is not UTF-8 text.") from None


def handle(
    app: APIGatewayHttpResolver,
    event: dict,
    context: Any,
    *,
    basic_auth: bool = True,
    content_types: tuple[str, ...] = ("application/json",),
) -> dict:
    """Checks that come before validation (credentials, body size and type), then the resolver."""
    try:
        if basic_auth:
            _check_basic_auth(event)
        _check_body(event, content_types)
    except errors.ServiceError as exc:
        response = error_response(exc, event)
        return {
            "statusCode": response.status_code,
            "headers": {"Content-Type": "application/json", **exc.headers},
            "body": response.body,
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)


def lambda_entry(
    app: APIGatewayHttpResolver,
    *,
    basic_auth: bool = True,
    content_types: tuple[str, ...] = ("application/json",),
) -> Callable[[dict, Any], dict]:
    """The decorated lambda_handler every API function exports: logging context, metrics, then `handle`."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict, context: Any) -> dict:
        return handle(app, event, context, basic_auth=basic_auth, content_types=content_types)

    return traced(lambda_handler)
