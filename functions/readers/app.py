"""Reader access management (HTTP Basic): list readers, re-link, deactivate links, revoke access."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from magiclink import clock, grants, http, listing, openapi, revocation
from magiclink.models.fields import GrantStatus
from magiclink.models.mapping import view_of
from magiclink.models.requests import ReaderLinkRequest
from magiclink.models.responses import ListReadersResponse, ReaderLinkResponse, ReaderResponse

app = http.make_resolver()
_EMAIL = Annotated[str, Path(json_schema_extra={"format": "email"}, description="The reader's email")]


def _request_id() -> str:
    return http.request_id(app.current_event.raw_event)


@app.get("/v1/readers", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 503))
def list_readers(
    status: Annotated[GrantStatus | None, Query()] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ListReadersResponse:
    page, next_cursor = listing.list_readers(status=status, email_prefix=email, limit=limit, cursor=cursor)
    return ListReadersResponse(request_id=_request_id(), readers=page, next_cursor=next_cursor)


@app.delete("/v1/readers/<email>", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 502, 503))
def revoke_access(email: _EMAIL) -> ReaderResponse:
    reader = revocation.revoke_access(http.email_param(email), by=http.api_principal())
    return ReaderResponse(request_id=_request_id(), reader=view_of(reader, clock.now()))


@app.post(
    "/v1/readers/<email>/links",
    security=openapi.BASIC_AUTH,
    responses=openapi.responses(400, 401, 404, 429, 502, 503),
)
def new_link(email: _EMAIL, body: ReaderLinkRequest) -> ReaderLinkResponse:
    reader, url = grants.send_link(http.email_param(email), body, by=http.api_principal())
    return ReaderLinkResponse(
        request_id=_request_id(),
        user_id=reader.user_id,
        email_id=reader.email_id,
        grant_id=reader.grant_id,
        magic_link_url=url,
        delivery=body.delivery,
    )


@app.post(
    "/v1/readers/<email>/links/deactivate",
    security=openapi.BASIC_AUTH,
    responses=openapi.responses(400, 401, 404, 503),
)
def deactivate_link(email: _EMAIL) -> ReaderResponse:
    reader = revocation.deactivate_link(http.email_param(email), by=http.api_principal())
    return ReaderResponse(request_id=_request_id(), reader=view_of(reader, clock.now()))


lambda_handler = http.lambda_entry(app)
