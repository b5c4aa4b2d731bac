"""Stytch's Users API (HTTP Basic): create a pending user, get, update, delete (a real erasure), search."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from magiclink import grants, http, openapi, users
from magiclink.models.mapping import user_of
from magiclink.models.requests import UserCreateRequest, UsersSearchRequest, UserUpdateRequest
from magiclink.models.responses import (
    ResultsMetadata,
    UserCreateResponse,
    UserDeleteResponse,
    UserResponse,
    UsersSearchResponse,
    UserUpdateResponse,
)

app = http.make_resolver()
_USER_ID = Annotated[str, Path(max_length=128, description="The user's id (user-test-… or user-live-…)")]


def _request_id() -> str:
    return http.request_id(app.current_event.raw_event)


@app.post("/v1/users", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 503))
def create_user(body: UserCreateRequest) -> UserCreateResponse:
    reader = grants.create_user(body, by=http.api_principal())
    user = user_of(reader)
    return UserCreateResponse(
        request_id=_request_id(), user_id=user.user_id, email_id=reader.email_id, status=user.status, user=user
    )


@app.post("/v1/users/search", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 503))
def search_users(body: UsersSearchRequest) -> UsersSearchResponse:
    found, total, next_cursor = users.search_users(body.query, limit=body.limit, cursor=body.cursor)
    return UsersSearchResponse(
        request_id=_request_id(),
        results=[user_of(reader) for reader in found],
        results_metadata=ResultsMetadata(total=total, next_cursor=next_cursor),
    )


@app.get("/v1/users/<user_id>", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 503))
def get_user(user_id: _USER_ID) -> UserResponse:
    user = user_of(users.reader_of(user_id))
    return UserResponse(request_id=_request_id(), **user.model_dump())


@app.put("/v1/users/<user_id>", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 503))
def update_user(user_id: _USER_ID, body: UserUpdateRequest) -> UserUpdateResponse:
    user = user_of(users.update_user(user_id, body))
    return UserUpdateResponse(request_id=_request_id(), user_id=user.user_id, emails=user.emails, user=user)


@app.delete("/v1/users/<user_id>", security=openapi.BASIC_AUTH, responses=openapi.responses(400, 401, 404, 503))
def delete_user(user_id: _USER_ID) -> UserDeleteResponse:
    users.delete_user(user_id)
    return UserDeleteResponse(request_id=_request_id(), user_id=user_id)


lambda_handler = http.lambda_entry(app)
