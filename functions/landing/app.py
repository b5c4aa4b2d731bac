"""Public: the page an emailed link opens (GET/HEAD spend nothing) and its Continue button (POST)."""

from typing import Annotated
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from magiclink import errors, http, landing, pages

app = http.make_resolver()  # pages for people: not in the OpenAPI document
_TOKEN = Annotated[str, Query(max_length=512)]


def _page(link: landing.Link, token: str, status: int = 200) -> Response:
    reader = link.reader if link.usable else None
    page = pages.render(
        "landing",
        usable=link.usable,
        token=token,
        email=reader.email if reader else "",
        name=reader.name.first_name if reader else "",
        inviter=(reader.inviter_name or "") if reader else "",
    )
    return http.html_page(page, status)


@app.route("/v1/magic_links/redirect", method=["GET", "HEAD"], include_in_schema=False)
def show(token: _TOKEN = ""):
    response = _page(landing.inspect(token), token)
    if app.current_event.http_method == "HEAD":
        response.body = ""
    return response


@app.post("/v1/magic_links/redirect", include_in_schema=False)
def proceed():
    if not http.same_origin(app.current_event.headers):  # login CSRF: another site posting its own link
        return http.html_page(pages.render("cross_site"), 403)
    form = parse_qs(app.current_event.decoded_body or "")
    token = (form.get("token") or [""])[0][:512]
    ip, user_agent = http.client_ip(app.current_event.raw_event), app.current_event.request_context.http.user_agent
    try:
        target = landing.proceed(token, ip_address=ip, user_agent=user_agent or "")
    except (errors.UnableToAuthMagicLink, errors.MagicLinkNotFound):
        return _page(landing.Link(None, False), "", 410)
    site = target if not isinstance(target, str) else None  # a link to the private site: its cookies too
    return http.see_other(site.location, site.cookies) if site else http.see_other(target)


lambda_handler = http.lambda_entry(
    app, basic_auth=False, content_types=("application/x-www-form-urlencoded", "application/json")
)
