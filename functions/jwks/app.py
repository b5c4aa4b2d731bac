"""GET /v1/sessions/jwks/{project_id} (public): the keys that verify session JWTs."""

from aws_lambda_powertools.event_handler import Response

from magiclink import errors, http, sessions
from magiclink.credentials import project_credentials
from magiclink.models import JwksResponse

app = http.make_resolver()


@app.get("/v1/sessions/jwks/<project_id>")
def jwks(project_id: str):
    if project_id != project_credentials().project_id:
        raise errors.ProjectNotFound()
    body = JwksResponse(request_id=http.request_id(app.current_event.raw_event), keys=sessions.jwks())
    return Response(
        status_code=200,
        content_type="application/json",
        body=body.model_dump_json(),
        headers={"Cache-Control": "public, max-age=300"},
    )


lambda_handler = http.lambda_entry(app, basic_auth=False)
