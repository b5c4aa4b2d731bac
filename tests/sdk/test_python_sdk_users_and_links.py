"""Stytch's own Python SDK (sync, and one async path) against `make run`'s server, as an app would call it:
login_or_create, embeddable links, the Users API and sessions.get, with their documented errors. The SDK
parses every answer with its own models (it raises if one does not fit), and raises StytchError on errors.

The SDK refuses http:// for `custom_base_url`; `environment` with a trailing slash is used as the base URL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import stytch
from stytch.consumer.models.users import Name, SearchUsersQuery, SearchUsersQueryOperator
from stytch.core.response_base import StytchError
from support import LocalServer, request
from support import stytch_error as _error

from local import stack

NOBODY = "user-test-00000000-0000-4000-8000-000000000000"


def _client(base: str) -> stytch.Client:
    project_id, secret = stack.credentials()
    return stytch.Client(project_id=project_id, secret=secret, environment=f"{base}/")


@pytest.fixture(scope="module")
def client(server) -> stytch.Client:
    base, _ = server
    return _client(base)


@pytest.fixture(scope="module")
def open_client() -> Iterator[stytch.Client]:
    """A server deployed with SignupPolicy open."""
    own = LocalServer.start(env={"MAGICLINK_SIGNUP_POLICY": "open"})
    yield _client(own.base)
    own.stop()


def _last_token(client: stytch.Client, email: str) -> str:
    _, outbox = request("GET", f"{client.api_base.base_url}_local/outbox.json", auth=False)
    link = next(mail["links"][0] for mail in reversed(outbox) if mail["to"] == [email])
    return parse_qs(urlsplit(link).query)["token"][0]


def _spaced() -> None:
    """One link a second per email (the deployment's limit): wait before the next one to the same email."""
    time.sleep(1.1)


def test_users_create_get_update_and_delete(client):
    created = client.users.create(
        email="sdk-ada@example.com",
        name=Name(first_name="Ada"),  # the SDK sends middle_name and last_name as null
        trusted_metadata={"plan": "team", "seats": 3},
        create_user_as_pending=True,
    )
    assert created.status == "pending" and created.user.name.first_name == "Ada"

    got = client.users.get(user_id=created.user_id)
    assert got.emails[0].email == "sdk-ada@example.com" and got.trusted_metadata == {"plan": "team", "seats": 3}

    updated = client.users.update(
        user_id=created.user_id,
        name=Name(last_name="Lovelace"),
        trusted_metadata={"seats": None, "region": "eu"},
        untrusted_metadata={"theme": "dark"},
    )
    assert updated.user.name.first_name == "Ada" and updated.user.name.last_name == "Lovelace"
    assert updated.user.trusted_metadata == {"plan": "team", "region": "eu"}

    deleted = client.users.delete(user_id=created.user_id)
    assert deleted.user_id == created.user_id
    assert _error(lambda: client.users.get(user_id=created.user_id)) == (404, "user_not_found")
    assert _error(lambda: client.users.delete(user_id=created.user_id)) == (404, "user_not_found")


def test_users_errors(client):
    client.users.create(email="sdk-dup@example.com")

    assert _error(lambda: client.users.create(email="sdk-dup@example.com")) == (400, "duplicate_email")
    assert _error(lambda: client.users.create(email="sdk-phone@example.com", phone_number="+15555550100")) == (
        400,
        "bad_request",
    )
    assert _error(lambda: client.users.get(user_id=NOBODY)) == (404, "user_not_found")
    assert _error(lambda: client.users.update(user_id=NOBODY, untrusted_metadata={"a": 1})) == (
        404,
        "user_not_found",
    )
    too_many = {f"k{i}": i for i in range(21)}
    user_id = (
        client.users.search(
            query=SearchUsersQuery(
                operator=SearchUsersQueryOperator.AND,
                operands=[{"filter_name": "email_address", "filter_value": ["sdk-dup@example.com"]}],
            )
        )
        .results[0]
        .user_id
    )
    over = lambda: client.users.update(user_id=user_id, untrusted_metadata=too_many)  # noqa: E731
    assert _error(over) == (400, "invalid_metadata")


def test_users_search_with_filters_and_every_page(client):
    ids = [client.users.create(email=f"sdk-search-{n}@example.com").user_id for n in range(5)]

    def query(*operands: tuple[str, object]) -> SearchUsersQuery:
        return SearchUsersQuery(
            operator=SearchUsersQueryOperator.AND,
            operands=[{"filter_name": n, "filter_value": v} for n, v in operands],
        )

    pages = list(client.users.search_all(limit=2, query=query(("email_address_fuzzy", "sdk-search-"))))
    assert [u.user_id for page in pages for u in page.results] == ids
    assert len(pages) >= 3 and pages[-1].results_metadata.next_cursor is None

    one = client.users.search(query=query(("user_id", [ids[3]]), ("status", "pending")))
    assert [u.user_id for u in one.results] == [ids[3]] and one.results_metadata.total == 1
    created_at = client.users.get(user_id=ids[0]).created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = client.users.search(query=query(("created_at_greater_than", "2000-01-01T00:00:00Z"), ("user_id", ids)))
    assert len(recent.results) == 5
    before = client.users.search(query=query(("created_at_less_than", created_at), ("user_id", ids)))
    assert before.results == []

    unsupported = query(("phone_number", ["+15555550100"]))
    assert _error(lambda: client.users.search(query=unsupported)) == (400, "unsupported_search_filter")
    assert _error(lambda: client.users.search(cursor="forged")) == (400, "invalid_cursor")


def test_login_or_create_logs_a_known_user_in_and_refuses_strangers_when_invite_only(client):
    user_id = client.users.create(email="sdk-known@example.com").user_id

    known = client.magic_links.email.login_or_create(email="sdk-known@example.com", login_expiration_minutes=15)
    assert (known.user_id, known.user_created) == (user_id, False)
    authenticated = client.magic_links.authenticate(
        token=_last_token(client, "sdk-known@example.com"), session_duration_minutes=30
    )
    assert authenticated.user.status == "active"

    stranger = lambda: client.magic_links.email.login_or_create(email="sdk-stranger@example.com")  # noqa: E731
    assert _error(stranger) == (403, "signup_not_allowed")
    search = SearchUsersQuery(
        operator=SearchUsersQueryOperator.AND,
        operands=[{"filter_name": "email_address", "filter_value": ["sdk-stranger@example.com"]}],
    )
    assert client.users.search(query=search).results == []


def test_login_or_create_signs_a_stranger_up_when_open(open_client):
    created = open_client.magic_links.email.login_or_create(
        email="sdk-new@example.com", signup_expiration_minutes=30, create_user_as_pending=True
    )
    assert created.user_created is True

    authenticated = open_client.magic_links.authenticate(token=_last_token(open_client, "sdk-new@example.com"))
    assert authenticated.user_id == created.user_id
    _spaced()
    again = open_client.magic_links.email.login_or_create(email="sdk-new@example.com")
    assert (again.user_id, again.user_created) == (created.user_id, False)


def test_an_embeddable_link_authenticates_once(client):
    user_id = client.users.create(email="sdk-embed@example.com").user_id

    created = client.magic_links.create(user_id=user_id, expiration_minutes=10)
    assert created.user_id == user_id

    authenticated = client.magic_links.authenticate(token=created.token, session_duration_minutes=60)
    assert authenticated.user_id == user_id and authenticated.session is not None
    spent = lambda: client.magic_links.authenticate(token=created.token)  # noqa: E731
    assert _error(spent) == (401, "unable_to_auth_magic_link")
    assert _error(lambda: client.magic_links.create(user_id=NOBODY)) == (404, "user_not_found")
    assert _error(lambda: client.magic_links.create(user_id=user_id, expiration_minutes=4)) == (
        400,
        "invalid_expiration",
    )


def test_sessions_get_lists_the_live_sessions(client):
    user_id = client.users.create(email="sdk-sessions@example.com").user_id
    token = client.magic_links.create(user_id=user_id).token
    session = client.magic_links.authenticate(token=token, session_duration_minutes=60).session

    listed = client.sessions.get(user_id=user_id)
    assert [s.session_id for s in listed.sessions] == [session.session_id]

    client.sessions.revoke(session_id=session.session_id)
    assert client.sessions.get(user_id=user_id).sessions == []
    assert _error(lambda: client.sessions.get(user_id=NOBODY)) == (404, "user_not_found")


def test_the_async_client_does_the_same(server):
    base, _ = server

    async def run() -> None:
        client = _client(base)
        try:
            created = await client.users.create_async(email="sdk-async@example.com", name=Name(first_name="Grace"))
            got = await client.users.get_async(user_id=created.user_id)
            assert got.name.first_name == "Grace"
            updated = await client.users.update_async(user_id=created.user_id, untrusted_metadata={"theme": "dark"})
            assert updated.user.untrusted_metadata == {"theme": "dark"}
            query = SearchUsersQuery(
                operator=SearchUsersQueryOperator.AND,
                operands=[{"filter_name": "email_address_fuzzy", "filter_value": "sdk-async@"}],
            )
            found = await client.users.search_async(query=query)
            assert [u.user_id for u in found.results] == [created.user_id]
            sent = await client.magic_links.email.login_or_create_async(email="sdk-async@example.com")
            assert sent.user_created is False
            _spaced()
            token = (await client.magic_links.create_async(user_id=created.user_id)).token
            await client.magic_links.authenticate_async(token=token, session_duration_minutes=5)
            assert len((await client.sessions.get_async(user_id=created.user_id)).sessions) == 1
            with pytest.raises(StytchError) as refused:
                await client.magic_links.email.login_or_create_async(email="sdk-async-stranger@example.com")
            assert refused.value.details.error_type == "signup_not_allowed"
            await client.users.delete_async(user_id=created.user_id)
            with pytest.raises(StytchError) as gone:
                await client.users.get_async(user_id=created.user_id)
            assert gone.value.details.error_type == "user_not_found"
        finally:
            await client.close()

    asyncio.run(run())
