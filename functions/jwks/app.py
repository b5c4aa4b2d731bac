"""GET /v1/sessions/jwks/{project_id} (public): the keys that verify session JWTs."""

from magiclink import errors, http, openapi, sessions
from magiclink.credentials import project_credentials
from magiclink.models.responses import JwksResponse

app = http.make_resolver()


@app.get("/v1/sessions/jwks/<project_id>", cache_control="public, max-age=300", responses=openapi.responses(404))
def jwks(project_id: str) -> JwksResponse:
    if project_id != project_credentials().project_id:
        raise errors.ProjectNotFound()
    return JwksResponse(request_id=http.request_id(app.current_event.raw_event), keys=sessions.jwks())


lambda_handler = http.lambda_entry(app, basic_auth=False)
