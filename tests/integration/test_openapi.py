"""The OpenAPI document: the whole API in one document, built from the functions' own resolvers, every route
with its auth and every error it can answer in Stytch's shape. tests/fuzz checks the server against it."""

from __future__ import annotations

import pytest
import schemathesis

from magiclink import openapi

API = {
    "POST /v1/magic_links/email/invite",
    "POST /v1/magic_links/email/send",
    "POST /v1/magic_links/email/revoke_invite",
    "POST /v1/magic_links/email/login_or_create",
    "POST /v1/magic_links",
    "POST /v1/magic_links/authenticate",
    "POST /v1/otps/email/send",
    "POST /v1/otps/email/login_or_create",
    "POST /v1/otps/authenticate",
    "POST /v1/magic_links/email/request",
    "POST /v1/sessions/authenticate",
    "POST /v1/sessions/revoke",
    "GET /v1/sessions",
    "GET /v1/sessions/jwks/{project_id}",
    "POST /v1/users",
    "POST /v1/users/search",
    "GET /v1/users/{user_id}",
    "PUT /v1/users/{user_id}",
    "DELETE /v1/users/{user_id}",
    "GET /v1/readers",
    "DELETE /v1/readers/{email}",
    "POST /v1/readers/{email}/links",
    "POST /v1/readers/{email}/links/deactivate",
}
PUBLIC = {"POST /v1/magic_links/email/request", "GET /v1/sessions/jwks/{project_id}"}
RATE_LIMITED = {
    "POST /v1/magic_links/email/invite",
    "POST /v1/magic_links/email/send",
    "POST /v1/magic_links/email/login_or_create",
    "POST /v1/magic_links",
    "POST /v1/otps/email/send",
    "POST /v1/otps/email/login_or_create",
    "POST /v1/readers/{email}/links",
    "POST /v1/magic_links/email/request",
}
NO_STORAGE = {"GET /v1/sessions/jwks/{project_id}"}


@pytest.fixture(scope="module")
def document(functions) -> dict:
    return openapi.document(functions.resolvers(), version="test")


def _operations(document: dict) -> dict[str, dict]:
    return {f"{m.upper()} {path}": op for path, ops in document["paths"].items() for m, op in ops.items()}


def test_it_is_the_json_api_of_every_function_and_no_page(document, functions):
    template_routes = {f"{r.method} {r.path}" for fn in functions.functions.values() for r in fn.routes}

    assert set(_operations(document)) == API
    assert template_routes >= API
    assert document["openapi"] == "3.1.0"


def test_it_is_a_document_schemathesis_can_load_with_every_reference_resolved(document):
    loaded = schemathesis.openapi.from_dict(document)

    assert len([result.ok() for result in loaded.get_all_operations()]) == len(API)


def test_every_route_declares_its_errors_in_stytchs_error_json(document):
    for name, operation in _operations(document).items():
        statuses = {int(status) for status in operation["responses"]}
        assert {200, *openapi.ALWAYS} <= statuses, name
        assert 422 not in statuses, name  # validation failures are 400 (http.py), not powertools' 422
        for status, response in operation["responses"].items():
            schema = response["content"]["application/json"]["schema"]
            if int(status) >= 400:
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (name, status)
            else:
                assert schema["$ref"].endswith("Response"), name


@pytest.mark.parametrize("name", sorted(API))
def test_auth_rate_limits_and_throttling_are_declared_where_they_happen(document, name):
    operation = _operations(document)[name]
    statuses = {int(status) for status in operation["responses"]}

    assert (operation.get("security") == [{"basicAuth": []}]) == (name not in PUBLIC)
    assert (401 in statuses) == (name not in PUBLIC)
    assert (429 in statuses) == (name in RATE_LIMITED)
    assert (503 in statuses) == (name not in NO_STORAGE)
    for status in {429, 503} & statuses:
        assert operation["responses"][str(status)]["headers"]["Retry-After"]["required"] is True


def test_the_schemas_are_the_wire_models_and_only_those_in_use(document):
    schemas = document["components"]["schemas"]

    assert set(schemas["ErrorResponse"]["required"]) == {
        "status_code",
        "request_id",
        "error_type",
        "error_message",
        "error_url",
    }
    assert schemas["InviteRequest"]["additionalProperties"] is False
    assert not {"HTTPValidationError", "ValidationError", "ConsoleGrantRequest"} & set(schemas)
    assert document["components"]["securitySchemes"]["basicAuth"] == {
        "type": "http",
        "scheme": "basic",
        "description": "The project_id as user name, the secret as password",
    }


def test_an_error_response_names_the_error_types_of_its_status(document):
    invite = _operations(document)["POST /v1/magic_links/email/invite"]["responses"]

    assert "too_many_requests" in invite["429"]["description"]
    assert "invalid_email" in invite["400"]["description"]
    assert "unauthorized_credentials" in invite["401"]["description"]
