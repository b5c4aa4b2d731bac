"""POST /v1/magic_links/email/invite: create or renew a reader's grant and email them a magic link."""

from magiclink import grants, http
from magiclink.models import InviteRequest, InviteResponse

app = http.make_resolver()


@app.post("/v1/magic_links/email/invite")
def invite(body: InviteRequest) -> InviteResponse:
    invited = grants.invite(body, by=http.api_principal())
    return InviteResponse(
        request_id=http.request_id(app.current_event.raw_event),
        user_id=invited.reader.user_id,
        email_id=invited.reader.email_id,
        grant_id=invited.reader.grant_id,
        grant_renewed=invited.renewed,
        magic_link_url=invited.magic_link_url,
    )


lambda_handler = http.lambda_entry(app)
