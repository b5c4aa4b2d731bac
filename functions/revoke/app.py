"""POST /v1/magic_links/email/revoke_invite: end a pending invite; its links stop working."""

from magiclink import http, openapi, revocation
from magiclink.models.requests import RevokeInviteRequest
from magiclink.models.responses import RevokeInviteResponse

app = http.make_resolver()


@app.post(
    "/v1/magic_links/email/revoke_invite",
    security=openapi.BASIC_AUTH,
    responses=openapi.responses(400, 401, 404, 503),
)
def revoke_invite(body: RevokeInviteRequest) -> RevokeInviteResponse:
    revocation.revoke_invite(body.email, by=http.api_principal())
    return RevokeInviteResponse(request_id=http.request_id(app.current_event.raw_event))


lambda_handler = http.lambda_entry(app)
