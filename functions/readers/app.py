"""Reader access management (HTTP Basic): list readers, re-link, deactivate links, revoke access."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from magiclink import clock, grants, http, readers
from magiclink.models import (
    GrantStatus,
    ListReadersResponse,
    ReaderLinkRequest,
    ReaderLinkResponse,
    ReaderResponse,
    view_of,
)

app = http.make_resolver()


def _request_id() -> str:
    return http.request_id(app.current_event.raw_event)


@app.get("/v1/readers")
def list_readers(
    status: Annotated[GrantStatus | None, Query()] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ListReadersResponse:
    page, next_cursor = readers.list_readers(status=status, email_prefix=email, limit=limit, cursor=cursor)
    return ListReadersResponse(request_id=_request_id(), readers=page, next_cursor=next_cursor)


@app.delete("/v1/readers/<email>")
def revoke_access(email: str) -> ReaderResponse:
    reader = grants.revoke_access(http.email_param(email), by=http.api_principal())
    return ReaderResponse(request_id=_request_id(), reader=view_of(reader, clock.now()))


@app.post("/v1/readers/<email>/links")
def new_link(email: str, body: ReaderLinkRequest) -> ReaderLinkResponse:
    reader, url = grants.send_link(http.email_param(email), body, by=http.api_principal())
    return ReaderLinkResponse(
        request_id=_request_id(),
        user_id=reader.user_id,
        email_id=reader.email_id,
        grant_id=reader.grant_id,
        magic_link_url=url,
        delivery=body.delivery,
    )


@app.post("/v1/readers/<email>/links/deactivate")
def deactivate_link(email: str) -> ReaderResponse:
    reader = grants.deactivate_link(http.email_param(email), by=http.api_principal())
    return ReaderResponse(request_id=_request_id(), reader=view_of(reader, clock.now()))


lambda_handler = http.lambda_entry(app)
