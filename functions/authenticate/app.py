"""POST /v1/magic_links/authenticate: spend a magic link and return the user, Stytch-style."""

from magiclink import grants, http
from magiclink.models import AuthenticateRequest, AuthenticateResponse, user_of

app = http.make_resolver()


@app.post("/v1/magic_links/authenticate")
def authenticate(body: AuthenticateRequest) -> AuthenticateResponse:
    reader = grants.authenticate(body)
    return AuthenticateResponse(
        request_id=http.request_id(app.current_event.raw_event),
        user_id=reader.user_id,
        method_id=reader.email_id,
        user=user_of(reader),
        grant_id=reader.grant_id,
        role=reader.role,
    )


lambda_handler = http.lambda_entry(app)
