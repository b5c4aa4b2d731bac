"""POST /v1/sessions/authenticate and /v1/sessions/revoke, GET /v1/sessions (HTTP Basic), Stytch-style."""

from typing import Annotated

from magiclink import http, openapi, sessions
from magiclink.http import Query
from magiclink.models.mapping import session_of, user_of
from magiclink.models.requests import SessionsAuthenticateRequest, SessionsRevokeRequest
from magiclink.models.responses import SessionsAuthenticateResponse, SessionsGetResponse, SessionsRevokeResponse

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


@app.get("/v1/sessions", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 503))
def get_sessions(user_id: Annotated[str, Query(max_length=128)]) -> SessionsGetResponse:
    reader, live = sessions.live_sessions(user_id)
    return SessionsGetResponse(
        request_id=http.request_id(app.current_event.raw_event),
        sessions=[session_of(reader, entry, session_id) for session_id, entry in live],
    )


lambda_handler = http.lambda_entry(app)
