"""The admin console at /console: sign-in by magic link, an HttpOnly session cookie, and a JSON API for
the page's script (every change carries a CSRF token)."""

from typing import Annotated
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from magiclink import clock, codes, console, errors, grants, http, listing, pages, revocation, selfservice
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
# The one request that changes something without an admin's session: the sign-in form, which comes before
# any session and carries a signed double-submit token of its own (the emailed link's callback, the other
# way in, is a GET that spends a one-time link). Every other request that is not a GET or HEAD needs an
# admin's session and its CSRF token, and every read of the API the session: by construction, in
# `_authorize`, which runs before anything about the body is looked at.
CSRF_EXEMPT = {("POST", "/console/sign-in")}
READS = ("GET", "HEAD")


def _cookie(name: str = console.COOKIE, request: APIGatewayProxyEventV2 | None = None) -> str | None:
    return http.cookie((request or app.current_event).raw_event, name)


def _form(request: APIGatewayProxyEventV2 | None = None) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((request or app.current_event).decoded_body or "").items()}


def _authorize(event: dict) -> dict:
    """Every console request, first: the admin's session for the API and for every change (401 without
    one, 403 for anyone else), and its CSRF token for every change; the admin is the routes' context."""
    request = APIGatewayProxyEventV2(event)
    method, path = request.request_context.http.method.upper(), request.path
    changes = method not in READS and (method, path) not in CSRF_EXEMPT
    if not changes and not path.startswith("/console/api/"):
        return {}
    admin = _admin_of(_cookie(request=request))
    if changes and not console.csrf_ok(admin, _presented_csrf(request)):
        raise errors.CsrfFailed()
    return {"admin": admin}


def _admin_of(session_token: str | None) -> console.Admin:
    try:
        return console.admin_of(session_token)
    except errors.SessionNotFound:
        raise errors.ConsoleSignInRequired() from None
    except console.NotAdmin:
        raise errors.Forbidden() from None


def _presented_csrf(request: APIGatewayProxyEventV2) -> str | None:
    """The page's script sends the token as a header; the sign-out form as its `csrf` field."""
    try:
        return request.headers.get("x-csrf-token") or _form(request).get("csrf")
    except ValueError:  # a body that is not text has no token
        return None


def _signed_in() -> console.Admin:
    return app.context["admin"]


def _view(reader: Reader, magic_link_url: str | None = None) -> ConsoleReaderResponse:
    return ConsoleReaderResponse(reader=view_of(reader, clock.now()), magic_link_url=magic_link_url)


@app.get("/console", include_in_schema=False)
def show():
    try:
        admin = console.admin_of(_cookie())
    except errors.SessionNotFound:
        return _sign_in_page(error=False)
    except console.NotAdmin:
        return _sign_in_page("Only admins can use the console.", 403)
    page = pages.render("console", csrf=admin.csrf, email=admin.reader.email)
    return http.html_page(page, csp=CONSOLE_CSP)


@app.post("/console/sign-in", include_in_schema=False)
def sign_in_request():
    form = _form()
    if not console.sign_in_form_ok(_cookie(console.FORM_COOKIE), form.get("csrf")):
        return _sign_in_page("This form expired or was sent from another site: please try again.", 403)
    source_ip = http.client_ip(app.current_event.raw_event)
    if "code" in form:  # the code from the sign-in email: it stands for the link, which the callback spends
        return _code_sign_in(form.get("code", ""), source_ip)
    # The same answer, after the same time, for every address (and every mistake): nobody learns who is an admin
    ticket = console.request_sign_in(form.get("email", ""), source_ip)
    message = "If this address belongs to an admin, a sign-in link is on its way. Check your inbox."
    return _sign_in_page(message, error=False, sent=True, code_step=True, ticket=ticket)


def _code_sign_in(code: str, source_ip: str) -> Response:
    answer = console.sign_in_with_code(code, _cookie(codes.TICKET_COOKIE) or "", source_ip)
    if answer.done is None:
        return _sign_in_page(answer.message, answer.status, sent=True, code_step=answer.status == 400)
    return http.signed_in(answer.done, cleared=codes.ticket_cookie("", "/console"))


def _sign_in_page(
    message: str = "",
    status: int = 200,
    *,
    error: bool = True,
    sent: bool = False,
    code_step: bool = False,
    ticket: str = "",
) -> Response:
    """The sign-in page, its form's token bound to the browser's form cookie (set here when it has none);
    after a request, the code form (and `ticket`, the code's, in a cookie of its own)."""
    nonce, token = console.sign_in_form(_cookie(console.FORM_COOKIE))
    page = pages.render("console_sign_in", message=message, error=error, sent=sent, csrf=token, code_step=code_step)
    cookies = [console.cookie(nonce, None, name=console.FORM_COOKIE)]
    if ticket:
        cookies.append(codes.ticket_cookie(ticket, "/console"))
    return http.html_page(page, status, cookies=cookies)


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
    page, next_cursor = listing.list_readers(status=status, email_prefix=email, limit=limit, cursor=cursor)
    return ListReadersResponse(
        request_id=http.request_id(app.current_event.raw_event), readers=page, next_cursor=next_cursor
    )


@app.post("/console/api/readers", include_in_schema=False)
def grant(body: ConsoleGrantRequest) -> ConsoleReaderResponse:
    admin = _signed_in()
    invite = InviteRequest.model_validate(body.model_dump() | {"name": body.name.model_dump()})
    invited = grants.invite(invite, by=admin.reader.email)
    return _view(invited.reader, invited.magic_link_url)


@app.post("/console/api/readers/<email>/links", include_in_schema=False)
def new_link(email: str, body: ConsoleLinkRequest) -> ConsoleReaderResponse:
    admin = _signed_in()
    link = ReaderLinkRequest(delivery=body.delivery, reusable=body.reusable)
    reader, url = grants.send_link(http.email_param(email), link, by=admin.reader.email)
    return _view(reader, url)


@app.post("/console/api/readers/<email>/links/deactivate", include_in_schema=False)
def deactivate(email: str) -> ConsoleReaderResponse:
    return _view(revocation.deactivate_link(http.email_param(email), by=_signed_in().reader.email))


@app.delete("/console/api/readers/<email>", include_in_schema=False)
def revoke(email: str) -> ConsoleReaderResponse:
    return _view(revocation.revoke_access(http.email_param(email), by=_signed_in().reader.email))


@app.get("/console/api/access_requests", include_in_schema=False)
def access_requests() -> ConsoleRequestsResponse:
    return ConsoleRequestsResponse(requests=selfservice.pending_requests())


@app.post("/console/api/access_requests/<email>/grant", include_in_schema=False)
def grant_request(email: str) -> ConsoleReaderResponse:
    invited = selfservice.grant_request(http.email_param(email))
    return _view(invited.reader)


@app.post("/console/api/access_requests/<email>/dismiss", include_in_schema=False)
def dismiss_request(email: str) -> dict:
    selfservice.dismiss_request(http.email_param(email))
    return {}


lambda_handler = http.lambda_entry(
    app,
    basic_auth=False,
    authorize=_authorize,
    content_types=("application/json", "application/x-www-form-urlencoded"),
)
