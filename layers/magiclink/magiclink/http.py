"""HTTP for every function: the resolver, HTTP Basic auth, and the one mapping from errors to Stytch's JSON."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from . import errors
from .credentials import edge_secret, project_credentials, site_url
from .models.fields import normalize_email
from .models.responses import ErrorResponse
from .observability import logger, metrics, traced
from .settings import get_settings, learn_public_base_url

# Query is for the handlers: imported from here, it loads after magiclink/_lazy.py spares event_handler's __init__.
__all__ = ["Query"]

MAX_BODY_BYTES = 64 * 1024
# More digits than any field or claim needs (a 128-bit integer has 39), and far fewer than Python's int
# limit (4,300 digits), past which json.loads fails with a ValueError, not a decode error.
MAX_INT_DIGITS = 40

# A validation failure on one of these fields gets Stytch's specific error_type.
_FIELD_ERRORS: dict[str, type[errors.ServiceError]] = {
    "email": errors.InvalidEmail,
    "locale": errors.InvalidLocale,
    "invite_magic_link_url": errors.InvalidRedirectUrl,
    "invite_template_id": errors.InvalidTemplateId,
    "code_challenge_method": errors.PkceMethodNotSupported,
    "login_magic_link_url": errors.InvalidLoginRedirectUrl,
    "session_custom_claims": errors.InvalidCustomClaims,
}
# A number out of its range on one of these fields gets Stytch's specific error_type (a wrong type stays bad_request).
_RANGE_ERRORS: dict[str, type[errors.ServiceError]] = {
    "invite_expiration_minutes": errors.InvalidExpiration,
    "login_expiration_minutes": errors.InvalidExpiration,
    "signup_expiration_minutes": errors.InvalidExpiration,
    "link_expiration_minutes": errors.InvalidExpiration,
    "expiration_minutes": errors.InvalidExpiration,
    "session_duration_minutes": errors.InvalidSessionDuration,
}
_OUT_OF_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


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


def _describe(error: dict) -> tuple[str | None, str, bool]:
    """(the field, a sentence, whether it is out of range) for one pydantic error, without echoing the value."""
    loc = [str(part) for part in error.get("loc", ())][1:]  # drop where it was: body, query or path
    if error.get("type") == "json_invalid":
        return None, "The request body is not valid JSON.", False
    if error.get("type") == "missing" and not loc:
        return None, "The request body is required.", False
    field = ".".join(loc)
    message = error.get("msg", "is invalid").removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "is not a known field"
    text = f"{field}: {message}" if field else message
    return (loc[0] if loc else None), text, error.get("type") in _OUT_OF_RANGE


def validation_error(exc: RequestValidationError) -> errors.ServiceError:
    described = [_describe(e) for e in exc.errors()]
    message = "; ".join(text for _, text, _ in described) or "The request is invalid."
    for field, _, out_of_range in described:
        if field in _FIELD_ERRORS:
            return _FIELD_ERRORS[field](message)
        if out_of_range and field in _RANGE_ERRORS:
            return _RANGE_ERRORS[field](message)
    return errors.BadRequest(message)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise errors.BadRequest(f"The request body has a number with more than {MAX_INT_DIGITS} digits.")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: it would come back as Infinity, which is not JSON
        raise errors.BadRequest("The request body has a number too large to represent.")
    return value


def _constant(_: str) -> float:
    raise errors.BadRequest("The request body is not valid JSON: NaN and Infinity are not JSON numbers.")


def parse_json(text: str) -> Any:
    """Every JSON body, as powertools' resolver reads it: what json.loads would turn into a 500 (a number
    past Python's int limit, nesting past the recursion limit), or into values that could be stored but not
    answered or sent on (NaN, Infinity, an unpaired surrogate such as "\\ud800"), is a 400 before anything
    looks at the request."""
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise errors.BadRequest("The request body is nested too deeply.") from None
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise errors.BadRequest("The request body has a string with an unpaired surrogate: it is not text.") from None
    return value


def make_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json)

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


def _origin_of(base_url: str) -> str:
    url = urlsplit(base_url)
    port = f":{url.port}" if url.port and url.port != {"http": 80, "https": 443}.get(url.scheme) else ""
    return f"{url.scheme}://{url.hostname}{port}"


def own_origin() -> str:
    """The service's origin as a browser serialises it (scheme://host[:port], the default port left out)."""
    return _origin_of(get_settings().public_base_url)


def own_origins() -> set[str]:
    """The service's origin, and the private site's, whose /v1/*, /access and /_site/* are the service's too."""
    site = site_url()
    return {own_origin(), _origin_of(site)} if site else {own_origin()}


def same_origin(headers: Mapping[str, str]) -> bool:
    """Whether a browser sent this request from one of the service's own pages, by what browsers say and
    pages cannot forge: `Sec-Fetch-Site` (`same-origin`, or `none` for a person's own navigation) and
    `Origin` (the service's own). Our pages' no-referrer policy makes browsers send `Origin: null` from
    them, so `null` passes only where `Sec-Fetch-Site` vouches for it. Neither header is not a browser
    (curl, a script): no other site can make a browser send a cross-origin POST without `Origin`.
    """
    site, origin = headers.get("sec-fetch-site"), headers.get("origin")
    if site is not None and site.lower() not in ("same-origin", "none"):
        return False
    return origin is None or origin.lower() in own_origins() or (origin == "null" and site is not None)


class SetCookie(Protocol):
    """A cookie to set: what site.Cookie holds (http.py imports no logic module)."""

    name: str
    value: str
    path: str
    max_age: int
    secure: bool


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


def signed_in(done: Any, *, cleared: Any) -> Response:
    """A 303 to where a sign-in goes: a URL, or a site.SiteSignIn with the site's cookies; `cleared` (a
    powertools Cookie) is cleared on the way."""
    response = see_other(done) if isinstance(done, str) else see_other(done.location, done.cookies)
    response.cookies.append(cleared)
    return response


def see_other(location: str, cookies: Sequence[SetCookie] = ()) -> Response:
    """A 303 to `location`, setting or clearing `cookies` (site.Cookie: HttpOnly, SameSite=Lax): the HTTP API's
    v2 payload carries them in its `cookies` list."""
    from aws_lambda_powertools.shared.cookies import Cookie, SameSite

    return Response(
        status_code=303,
        headers={"Location": location, "Cache-Control": "no-store"},
        body="",
        cookies=[
            Cookie(
                c.name,
                c.value,
                path=c.path,
                secure=c.secure,
                http_only=True,
                max_age=c.max_age,
                same_site=SameSite.LAX_MODE,
            )
            for c in cookies
        ],
    )


def cookie(event: dict, name: str) -> str | None:
    """The value of the request's cookie `name` (the HTTP API's v2 payload lists them in `cookies`)."""
    for pair in event.get("cookies") or []:
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None


def _header(event: dict, name: str) -> str | None:
    return next((v for k, v in (event.get("headers") or {}).items() if k.lower() == name), None)


EDGE_HEADER = "x-magiclink-edge"  # the distribution's origin custom header (template.yaml's SiteDistribution)
VIEWER_ADDRESS_HEADER = "cloudfront-viewer-address"
_PORT = re.compile(r"[0-9]{1,5}")


def viewer_ip(value: str) -> str | None:
    """The IP of a CloudFront-Viewer-Address value: `ip:port`, an IPv6 address as `addr:port` (CloudFront's own
    form) or `[addr]:port`; None for anything else (no port, a port out of range, not an address, a zone)."""
    text = value.strip()
    if len(text) > 64 or "%" in text:
        return None
    host, sep, port = text[1:].partition("]:") if text.startswith("[") else text.rpartition(":")
    if not sep or not _PORT.fullmatch(port) or int(port) > 65535:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if text.startswith("[") and address.version != 6:
        return None
    return str(address)


def client_ip(event: dict) -> str:
    """The one answer to "which client sent this": API Gateway's source IP, unless the request came through the
    private site's distribution, which proves itself with the edge secret (X-Magiclink-Edge, compared in
    constant time) and names the viewer in CloudFront-Viewer-Address. A client-sent CloudFront-Viewer-Address
    with no secret, or a wrong one, is ignored, neither refused nor logged: on the execute-api URL anybody can
    send both headers."""
    source = str(((event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or "")
    sent, viewer = _header(event, EDGE_HEADER), _header(event, VIEWER_ADDRESS_HEADER)
    if not isinstance(sent, str) or not isinstance(viewer, str):
        return source
    expected = edge_secret()
    if not expected or not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode()):
        return source
    return viewer_ip(viewer) or source


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


def _media_type(event: dict) -> str:
    return (_header(event, "content-type") or "application/json").split(";")[0].strip().lower()


def _check_body(event: dict, content_types: tuple[str, ...]) -> None:
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge()
    if body and _media_type(event) not in content_types:
        raise errors.UnsupportedMediaType()
    if body and event.get("isBase64Encoded"):  # bytes that aren't text: powertools would fail decoding them
        try:
            base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise errors.BadRequest("The request body is not UTF-8 text.") from None


def _early_answer(error: errors.ServiceError, event: dict) -> dict:
    """The error's answer, for a request refused before the resolver saw it."""
    response = error_response(error, event)
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json", **error.headers},
        "body": response.body,
        "isBase64Encoded": False,
    }


def handle(
    app: APIGatewayHttpResolver,
    event: dict,
    context: Any,
    *,
    basic_auth: bool = True,
    authorize: Callable[[dict], dict] | None = None,
    content_types: tuple[str, ...] = ("application/json",),
    check_body: bool = True,
) -> dict:
    """Checks that come before validation (credentials, body size and type), then the resolver.

    `authorize` is a function's own credential check (the console's session), run before anything about
    the body; what it returns is the route's `app.context` for this request.
    """
    try:
        if basic_auth:
            _check_basic_auth(event)
        granted = authorize(event) if authorize else {}
        if check_body:
            _check_body(event, content_types)
    except errors.ServiceError as exc:
        return _early_answer(exc, event)
    except Exception:  # as the resolver answers an unexpected failure
        logger.exception("unhandled error")
        return _early_answer(errors.ServiceError(), event)
    app.append_context(**granted)  # resolve() clears it when it is done
    return app.resolve(_as_read(event, content_types), context)


def _as_read(event: dict, content_types: tuple[str, ...]) -> dict:
    """The event as the resolver should read it. Its Content-Type's media type in lower case: media types are
    case-insensitive (RFC 9110: `Application/Json` is JSON), and powertools matches `application/json` as
    written. And no Content-Type on an empty body of a type this function does not take (the others were
    refused): no content has no format, so a route that needs a body says it is missing, as for any empty body,
    instead of powertools parsing nothing as a form or failing on text/plain."""
    value = _header(event, "content-type")
    if value is None:
        return event
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    media_type, sep, parameters = value.partition(";")
    if media_type.strip().lower() in content_types:
        headers["content-type"] = media_type.strip().lower() + sep + parameters
    return event | {"headers": headers}


def lambda_entry(
    app: APIGatewayHttpResolver,
    *,
    basic_auth: bool = True,
    authorize: Callable[[dict], dict] | None = None,
    content_types: tuple[str, ...] = ("application/json",),
    check_body: bool = True,
) -> Callable[[dict, Any], dict]:
    """The decorated lambda_handler every API function exports: logging context, metrics, then `handle`."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict, context: Any) -> dict:
        # The API's own URL, where the deployment names none: the domain API Gateway says it was reached at
        domain = (event.get("requestContext") or {}).get("domainName")
        if isinstance(domain, str) and domain:
            learn_public_base_url(f"https://{domain}")
        return handle(
            app,
            event,
            context,
            basic_auth=basic_auth,
            authorize=authorize,
            content_types=content_types,
            check_body=check_body,
        )

    return traced(lambda_handler)
