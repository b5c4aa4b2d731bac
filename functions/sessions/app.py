"""POST /v1/sessions/authenticate and /v1/sessions/revoke (HTTP Basic), Stytch-style."""

from magiclink import http, openapi, sessions
from magiclink.models.mapping import session_of, user_of
from magiclink.models.requests import SessionsAuthenticateRequest, SessionsRevokeRequest
from magiclink.models.responses import SessionsAuthenticateResponse, SessionsRevokeResponse

app = http.make_resolver()


@app.post("/v1/sessions/authenticate", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 503))
def authenticate(body: SessionsAuthenticateRequest) -> SessionsAuthenticateResponse:
    minutes, claims = body.session_duration_minutes, body.session_custom_claims
    current = sessions.authenticate_session(body.session_token, body.session_jwt, minutes=minutes, custom_claims=claims)
    return SessionsAuthenticateResponse(
        request_id=http.request_id(app.current_event.raw_event),
        session=session_of(current.reader, current.entry, current.session_id),
        session_token=current.session_token,
        session_jwt=current.session_jwt,
        user=user_of(current.reader),
    )


@app.post("/v1/sessions/revoke", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 503))
def revoke(body: SessionsRevokeRequest) -> SessionsRevokeResponse:
    sessions.revoke_session(body.session_id, body.session_token, body.session_jwt)
    return SessionsRevokeResponse(request_id=http.request_id(app.current_event.raw_event))


lambda_handler = http.lambda_entry(app)
