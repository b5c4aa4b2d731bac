"""Public, on the private site's domain: /_site/refresh (the gate's stop for an expired site cookie) and sign-out."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from magiclink import http, pages, site

app = http.make_resolver()  # pages for people: not in the OpenAPI document
_NEXT = Annotated[str, Query(alias="next", max_length=8192)]


def _refresh_cookie() -> str | None:
    return http.cookie(app.current_event.raw_event, site.cookie_names()[1])


@app.get("/_site/refresh", include_in_schema=False)
def refresh(next_path: _NEXT = "/"):
    done = site.refresh(_refresh_cookie(), next_path)
    return http.see_other(done.location, done.cookies)


@app.post("/_site/sign-out", include_in_schema=False)
def sign_out():
    if not http.same_origin(app.current_event.headers):  # another site signing the reader out
        return http.html_page(pages.render("cross_site"), 403)
    done = site.sign_out(_refresh_cookie())
    return http.see_other(done.location, done.cookies)


lambda_handler = http.lambda_entry(app, basic_auth=False, content_types=("application/x-www-form-urlencoded",))
