"""The admin console at /console: sign-in by magic link, an HttpOnly session cookie, and a JSON API for
the page's script (every change carries a CSRF token)."""

import contextlib
from typing import Annotated
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from magiclink import clock, console, errors, grants, http, listing, pages, selfservice
from magiclink.models.fields import GrantStatus
from magiclink.models.items import Reader
from magiclink.models.mapping import view_of
from magiclink.models.requests import ConsoleGrantRequest, ConsoleLinkRequest, InviteRequest, ReaderLinkRequest
from magiclink.models.responses import (
    ConsoleReaderResponse,
    ConsoleRequestsResponse,
    ListReadersResponse,
)
from magiclink.resources import CONSOLE_ASSETS

app = http.make_resolver()  # pages, and the API of the page's own script: not in the OpenAPI document
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
STATIC = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}


def _cookie() -> str | None:
    for pair in app.current_event.cookies or []:
        name, _, value = pair.strip().partition("=")
        if name == console.COOKIE:
            return value
    return None


def _form() -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(app.current_event.decoded_body or "").items()}


def _admin(*, changes: bool) -> console.Admin:
    """The signed-in admin, for the JSON API: 401 without a session, 403 for others or a bad CSRF token."""
    try:
        admin = console.admin_of(_cookie())
    except errors.SessionNotFound:
        raise errors.ConsoleSignInRequired() from None
    except console.NotAdmin:
        raise errors.Forbidden() from None
    if changes and not console.csrf_ok(admin, app.current_event.headers.get("x-csrf-token")):
        raise errors.CsrfFailed()
    return admin


def _view(reader: Reader, magic_link_url: str | None = None) -> ConsoleReaderResponse:
    return ConsoleReaderResponse(reader=view_of(reader, clock.now()), magic_link_url=magic_link_url)


@app.get("/console", include_in_schema=False)
def show():
    try:
        admin = console.admin_of(_cookie())
    except errors.SessionNotFound:
        return http.html_page(pages.render("console_sign_in", message="", error=False, sent=False))
    except console.NotAdmin:
        return http.html_page(
            pages.render("console_sign_in", message="Only admins can use the console.", error=True, sent=False), 403
        )
    page = pages.render("console", csrf=admin.csrf, email=admin.reader.email)
    return http.html_page(page, csp=CONSOLE_CSP)


@app.post("/console/sign-in", include_in_schema=False)
def sign_in_request():
    email = _form().get("email", "")
    # The same answer for every address (and every mistake): the page never tells who is an admin.
    with contextlib.suppress(ValueError, errors.TooManyRequests):
        console.request_sign_in(InviteRequest(email=email).email, app.current_event.request_context.http.source_ip)
    message = "If this address belongs to an admin, a sign-in link is on its way. Check your inbox."
    return http.html_page(pages.render("console_sign_in", message=message, error=False, sent=True))


def _sign_in_page(message: str, status: int):
    return http.html_page(pages.render("console_sign_in", message=message, error=True, sent=False), status)


@app.get("/console/callback", include_in_schema=False)
def sign_in(token: Annotated[str, Query(max_length=512)] = ""):
    try:
        session_token, is_admin = console.sign_in(token)
    except (errors.UnableToAuthMagicLink, errors.MagicLinkNotFound):
        return _sign_in_page("This sign-in link no longer works. Ask for a new one.", 410)
    if not is_admin:
        return _sign_in_page("Only admins can use the console.", 403)
    cookie = console.cookie(session_token, console.SESSION_MINUTES * 60)
    headers = {"Location": "/console", "Cache-Control": "no-store"}
    return Response(status_code=303, headers=headers, body="", cookies=[cookie])


@app.post("/console/sign-out", include_in_schema=False)
def sign_out():
    admin = _admin(changes=False)
    if not console.csrf_ok(admin, _form().get("csrf")):
        raise errors.CsrfFailed()
    console.sign_out(_cookie())
    return Response(status_code=303, headers={"Location": "/console"}, body="", cookies=[console.cookie("", 0)])


@app.get("/console/static/<name>", include_in_schema=False)
def static(name: str):
    if name not in STATIC:
        raise errors.RouteNotFound()
    body = (CONSOLE_ASSETS / name).read_text()
    return Response(status_code=200, content_type=STATIC[name], body=body, headers={"Cache-Control": "no-cache"})


@app.get("/console/api/readers", include_in_schema=False)
def list_readers(
    status: Annotated[GrantStatus | None, Query()] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ListReadersResponse:
    _admin(changes=False)
    page, next_cursor = listing.list_readers(status=status, email_prefix=email, limit=limit, cursor=cursor)
    return ListReadersResponse(
        request_id=http.request_id(app.current_event.raw_event), readers=page, next_cursor=next_cursor
    )


@app.post("/console/api/readers", include_in_schema=False)
def grant(body: ConsoleGrantRequest) -> ConsoleReaderResponse:
    admin = _admin(changes=True)
    invite = InviteRequest.model_validate(body.model_dump() | {"name": body.name.model_dump()})
    invited = grants.invite(invite, by=admin.reader.email)
    return _view(invited.reader, invited.magic_link_url)


@app.post("/console/api/readers/<email>/links", include_in_schema=False)
def new_link(email: str, body: ConsoleLinkRequest) -> ConsoleReaderResponse:
    admin = _admin(changes=True)
    link = ReaderLinkRequest(delivery=body.delivery, reusable=body.reusable)
    reader, url = grants.send_link(http.email_param(email), link, by=admin.reader.email)
    return _view(reader, url)


@app.post("/console/api/readers/<email>/links/deactivate", include_in_schema=False)
def deactivate(email: str) -> ConsoleReaderResponse:
    admin = _admin(changes=True)
    return _view(grants.deactivate_link(http.email_param(email), by=admin.reader.email))


@app.delete("/console/api/readers/<email>", include_in_schema=False)
def revoke(email: str) -> ConsoleReaderResponse:
    admin = _admin(changes=True)
    return _view(grants.revoke_access(http.email_param(email), by=admin.reader.email))


@app.get("/console/api/access_requests", include_in_schema=False)
def access_requests() -> ConsoleRequestsResponse:
    _admin(changes=False)
    return ConsoleRequestsResponse(requests=selfservice.pending_requests())


@app.post("/console/api/access_requests/<email>/grant", include_in_schema=False)
def grant_request(email: str) -> ConsoleReaderResponse:
    _admin(changes=True)
    invited = selfservice.grant_request(http.email_param(email))
    return _view(invited.reader)


@app.post("/console/api/access_requests/<email>/dismiss", include_in_schema=False)
def dismiss_request(email: str) -> dict:
    _admin(changes=True)
    selfservice.dismiss_request(http.email_param(email))
    return {}


lambda_handler = http.lambda_entry(
    app, basic_auth=False, content_types=("application/json", "application/x-www-form-urlencoded")
)
