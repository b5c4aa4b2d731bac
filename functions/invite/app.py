"""POST /v1/magic_links/email/invite, /send and /login_or_create, and /v1/magic_links (an embeddable link):
invite (create or renew a grant), send a login link, either as the deployment's SignupPolicy says, or a token.
And Stytch's email OTP sends, /v1/otps/email/send and /login_or_create (the code comes with its link)."""

from magiclink import grants, http, idempotency, openapi, otps
from magiclink.models.items import Reader
from magiclink.models.requests import (
    InviteRequest,
    LoginOrCreateRequest,
    MagicLinkCreateRequest,
    OtpLoginOrCreateRequest,
    OtpSendRequest,
    SendRequest,
)
from magiclink.models.responses import InviteResponse, LoginOrCreateResponse, MagicLinkCreateResponse, SendResponse

app = http.make_resolver()


def _invite(body: InviteRequest) -> dict:
    invited = grants.invite(body, by=http.api_principal())
    return InviteResponse(
        request_id=http.request_id(app.current_event.raw_event),
        user_id=invited.reader.user_id,
        email_id=invited.reader.email_id,
        grant_id=invited.reader.grant_id,
        grant_renewed=invited.renewed,
        magic_link_url=invited.magic_link_url,
    ).model_dump(mode="json")


@app.post(
    "/v1/magic_links/email/invite",
    security=openapi.BASIC_AUTH,
    responses=openapi.responses(400, 401, 409, 429, 502, 503),
)
def invite(body: InviteRequest) -> InviteResponse:
    key = app.current_event.headers.get("idempotency-key")
    if key is None:
        return InviteResponse.model_validate(_invite(body))
    answer = idempotency.once(
        key, body.model_dump(mode="json"), lambda: _invite(body), app.lambda_context, sealed=("magic_link_url",)
    )
    return InviteResponse.model_validate(answer)


@app.post(
    "/v1/magic_links/email/send",
    security=openapi.BASIC_AUTH,
    responses=openapi.responses(400, 401, 404, 429, 502, 503),
)
def send(body: SendRequest) -> SendResponse:
    return _sent(grants.send(body, by=http.api_principal()))


@app.post(
    "/v1/magic_links/email/login_or_create",
    security=openapi.BASIC_AUTH,
    responses=openapi.responses(400, 401, 403, 429, 502, 503),
)
def login_or_create(body: LoginOrCreateRequest) -> LoginOrCreateResponse:
    return _logged_in(*grants.login_or_create(body, by=http.api_principal()))


@app.post("/v1/magic_links", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 429, 503))
def create_magic_link(body: MagicLinkCreateRequest) -> MagicLinkCreateResponse:
    minutes = body.expiration_minutes or grants.DEFAULT_LINK_MINUTES
    reader, token = grants.embeddable_link(body.user_id, minutes=minutes, by=http.api_principal())
    request_id = http.request_id(app.current_event.raw_event)
    return MagicLinkCreateResponse(request_id=request_id, user_id=reader.user_id, token=token)


@app.post("/v1/otps/email/send", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 429, 502, 503))
def send_otp(body: OtpSendRequest) -> SendResponse:
    return _sent(otps.send(body, by=http.api_principal()))


@app.post(
    "/v1/otps/email/login_or_create",
    security=openapi.BASIC_AUTH,
    responses=openapi.responses(400, 401, 403, 429, 502, 503),
)
def login_or_create_otp(body: OtpLoginOrCreateRequest) -> LoginOrCreateResponse:
    return _logged_in(*otps.login_or_create(body, by=http.api_principal()))


def _sent(reader: Reader) -> SendResponse:
    """A link's (or a code's) send, answered as Stytch does."""
    request_id = http.request_id(app.current_event.raw_event)
    return SendResponse(request_id=request_id, user_id=reader.user_id, email_id=reader.email_id)


def _logged_in(reader: Reader, created: bool) -> LoginOrCreateResponse:
    """A login_or_create (of a link or a code), answered as Stytch does."""
    return LoginOrCreateResponse(
        request_id=http.request_id(app.current_event.raw_event),
        user_id=reader.user_id,
        email_id=reader.email_id,
        user_created=created,
    )


lambda_handler = http.lambda_entry(app)
