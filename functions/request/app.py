"""Public: a reader asks for a new link (JSON or the /access form); the owner grants a stranger's request."""

import re
from typing import Annotated
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler.openapi.params import Query

from magiclink import codes, http, landing, openapi, pages, selfservice
from magiclink.models.requests import RequestLinkRequest
from magiclink.models.responses import RequestLinkResponse

app = http.make_resolver()


@app.post("/v1/magic_links/email/request", responses=openapi.responses(400, 429, 502, 503))
def request_link(body: RequestLinkRequest) -> RequestLinkResponse:
    outcome = selfservice.request_link(body, source_ip=_source_ip())
    return RequestLinkResponse(
        request_id=http.request_id(app.current_event.raw_event),
        outcome=outcome.outcome,
        message_html=outcome.message_html,
    )


def _source_ip() -> str:
    return http.client_ip(app.current_event.raw_event)


def _form() -> dict[str, str]:
    fields = parse_qs(app.current_event.decoded_body or "", keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


@app.get("/access", include_in_schema=False)
def access_form(next_path: Annotated[str, Query(alias="next", max_length=8192)] = ""):
    page = pages.render("access", email="", message_html="", error=False, next=next_path, code_step=False)
    return http.html_page(page)


@app.post("/access", include_in_schema=False)
def access_submit():
    form = _form()
    return _code_step(form.get("code", "")) if "code" in form else _link_step(form)


def _link_step(form: dict[str, str]):
    """The email typed: a link (and its code) asked for; the page then asks for the code."""
    email, next_path = form.get("email", ""), form.get("next", "")
    answer = selfservice.answer_form(email, source_ip=_source_ip(), next_path=next_path)
    message = pages.trusted(answer.message) if answer.trusted else answer.message
    cookies = [codes.ticket_cookie(answer.code_ticket, "/access")] if answer.code_ticket else []
    page = pages.render(
        "access", email=email, message_html=message, error=answer.status != 200, next=next_path, code_step=bool(cookies)
    )
    return http.html_page(page, answer.status, headers=answer.headers, cookies=cookies)


def _code_step(code: str):
    """The code from the email, typed where the link was asked for: signed in as Continue would sign in."""
    if not http.same_origin(app.current_event.headers):  # login CSRF: another site posting its own code
        return http.html_page(pages.render("cross_site"), 403)
    request = app.current_event.request_context.http
    ticket = http.cookie(app.current_event.raw_event, codes.TICKET_COOKIE) or ""
    answer = landing.try_code(code, ticket, ip_address=_source_ip(), user_agent=request.user_agent or "")
    if answer.done is not None:
        return http.signed_in(answer.done, cleared=codes.ticket_cookie("", "/access"))
    page = pages.render("access", email="", message_html=answer.message, error=True, next="", code_step=bool(ticket))
    return http.html_page(page, answer.status, headers=answer.headers)


@app.get("/v1/access_requests/grant", include_in_schema=False)
def grant_confirm(
    email: Annotated[str, Query(max_length=320)],
    expires: Annotated[int, Query()],
    sig: Annotated[str, Query(max_length=128)],
):
    valid = selfservice.grant_link_valid(email, expires, sig)
    state = "confirm" if valid else "invalid"
    page = pages.render("grant", state=state, email=email, expires=expires, sig=sig)
    return http.html_page(page, 200 if valid else 403)


def _epoch_seconds(text: str) -> int:
    """The form's `expires`; anything but ASCII digits of a plausible time (5,000 digits, '²') reads as 0, an
    expired link, rather than reaching int() and its 500."""
    return int(text) if re.fullmatch(r"[0-9]{1,12}", text) else 0


@app.post("/v1/access_requests/grant", include_in_schema=False)
def grant_submit():
    form = _form()
    email, sig = form.get("email", ""), form.get("sig", "")
    expires = _epoch_seconds(form.get("expires", ""))
    if not selfservice.grant_link_valid(email, expires, sig):
        return http.html_page(pages.render("grant", state="invalid", email=email, expires=0, sig=""), 403)
    selfservice.grant_request(email)
    return http.html_page(pages.render("grant", state="granted", email=email, expires=0, sig=""))


lambda_handler = http.lambda_entry(
    app, basic_auth=False, content_types=("application/json", "application/x-www-form-urlencoded")
)
