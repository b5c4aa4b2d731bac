"""POST /v1/magic_links/authenticate and /v1/otps/authenticate: spend a magic link, or the one-time code
emailed with it, and return the user (and session), Stytch-style."""

from magiclink import authentication, http, openapi, otps
from magiclink.models.mapping import session_of, user_of
from magiclink.models.requests import AuthenticateRequest, OtpAuthenticateRequest
from magiclink.models.responses import AuthenticateResponse

app = http.make_resolver()


@app.post("/v1/magic_links/authenticate", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 503))
def authenticate(body: AuthenticateRequest) -> AuthenticateResponse:
    return _answer(authentication.authenticate(body))


@app.post("/v1/otps/authenticate", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 503))
def authenticate_otp(body: OtpAuthenticateRequest) -> AuthenticateResponse:
    return _answer(otps.authenticate(body))


def _answer(done: authentication.Authenticated) -> AuthenticateResponse:
    return AuthenticateResponse(
        request_id=http.request_id(app.current_event.raw_event),
        user_id=done.reader.user_id,
        method_id=done.reader.email_id,
        user=user_of(done.reader),
        session_token=done.session_token,
        session_jwt=done.session_jwt,
        session=session_of(done.reader, done.session, done.session_id) if done.session else None,
        grant_id=done.reader.grant_id,
        role=done.reader.role,
    )


lambda_handler = http.lambda_entry(app)
