"""The OpenAPI document: what each route declares (its errors, its auth), and one document for every function.

Each function's resolver knows only its own routes; `document` merges them. Handlers declare what their
route can answer besides success with `responses=openapi.responses(...)`, and Basic auth with
`security=openapi.BASIC_AUTH`; pages (HTML) and the console's own API say `include_in_schema=False`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import errors
from .models.responses import ErrorResponse

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

DESCRIPTION = (
    "Magic-link invites in your own AWS account, wire-compatible with Stytch's magic-link API: point a Stytch "
    "client at this service's base URL. Every error is Stytch's error JSON (`ErrorResponse`)."
)
BASIC_AUTH = [{"basicAuth": []}]
_SCHEMAS = "#/components/schemas/"

# Every route can answer these: the body checks that come before validation, and the catch-all (http.py).
ALWAYS = (413, 415, 500)

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer"},
    },
}


def _error_types(status: int) -> list[str]:
    """Every error_type errors.py answers with this status."""
    found, pending = set(), [errors.ServiceError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.status_code == status:
            found.add(cls.error_type)
    return sorted(found)


def responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """A route's answers for the document: success (its schema from the handler's return type), and these
    error statuses (plus ALWAYS) in Stytch's error JSON; 429 and 503 come with Retry-After."""
    answers: dict[int, OpenAPIResponse] = {200: {"description": "OK"}}
    for status in sorted({*statuses, *ALWAYS}):
        answer: OpenAPIResponse = {
            "description": f"error_type: {', '.join(_error_types(status))}",
            "content": {"application/json": {"model": ErrorResponse}},
        }
        if status in (429, 503):
            answer["headers"] = _RETRY_AFTER
        answers[status] = answer
    return answers


def document(resolvers: Iterable[APIGatewayHttpResolver], *, version: str) -> dict[str, Any]:
    """One OpenAPI 3.1 document for the routes of all these resolvers (a route in two is an error)."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBase

    schemes = {"basicAuth": HTTPBase(scheme="basic", description="The project_id as user name, the secret as password")}
    merge = OpenAPIMerge(
        title="magiclink", version=version, description=DESCRIPTION, security_schemes=schemes, on_conflict="error"
    )
    for resolver in resolvers:
        merge.add_schema(resolver.get_openapi_schema(security_schemes=schemes))
    doc = json.loads(merge.get_openapi_json_schema())
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            # Powertools documents a failed validation as 422; http.py answers it as 400 (declared).
            operation["responses"].pop("422", None)
            if operation.get("summary") == f"{method.upper()} {path}":  # powertools' default says nothing more
                del operation["summary"]
            operation["tags"] = [_tag(path)]
    # Powertools keeps the models of routes left out of the document, and its 422 shapes: keep what is used.
    schemas = doc["components"]["schemas"]
    doc["components"]["schemas"] = {name: schemas[name] for name in sorted(_referenced(doc["paths"], schemas))}
    return doc


def _tag(path: str) -> str:
    """Operations grouped by the path's first part after /v1: Magic links, Sessions, Readers."""
    return path.removeprefix("/v1").split("/")[1].replace("_", " ").capitalize()


def _referenced(node: Any, schemas: dict[str, Any]) -> set[str]:
    """The component schemas `node` refers to, directly or through other schemas."""
    found: set[str] = set()
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(_SCHEMAS) and ref.removeprefix(_SCHEMAS) not in found:
                found.add(ref.removeprefix(_SCHEMAS))
                pending.append(schemas[ref.removeprefix(_SCHEMAS)])
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found
