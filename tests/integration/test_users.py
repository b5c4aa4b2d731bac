"""Stytch's Users API through its lambda_handler: create, get, update, delete (a real erasure), search."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from stytch.consumer.models.users import CreateResponse, DeleteResponse, GetResponse, SearchResponse, UpdateResponse
from support import event, last_token, table_items, token_of

UNKNOWN = "user-test-00000000-0000-4000-8000-000000000000"


def _create(api, email: str = "ada@example.com", **fields):
    return api.send("users_create", {"email": email, **fields})


def _get(api, user_id: str):
    return api.send("users_get", path=f"/v1/users/{quote(user_id)}")


def _update(api, path_id: str, **fields):
    return api.send("users_update", fields, path=f"/v1/users/{quote(path_id)}")


def _delete(api, user_id: str):
    return api.send("users_delete", path=f"/v1/users/{quote(user_id)}")


def _search(api, *operands, **fields):
    body = {
        **fields,
        "query": {"operator": "AND", "operands": [{"filter_name": n, "filter_value": v} for n, v in operands]},
    }
    return api.send("users_search", body)


def _kinds() -> list[str]:
    return sorted(i["pk"]["S"].split("#")[0] for i in table_items())


def test_create_makes_a_pending_user_with_no_link_and_sends_nothing(api, outbox):
    reply = _create(
        api,
        " ada@Example.COM",
        name={"first_name": "Ada", "middle_name": None, "last_name": "Lovelace"},  # the SDK's Name sends nulls
        trusted_metadata={"plan": "team"},
        roles=["editor"],
        attributes={"ip_address": None, "user_agent": None},
        create_user_as_pending=True,
        external_id=None,
        phone_number=None,
    )

    assert reply.status == 200, reply.body
    parsed = CreateResponse.from_json(reply.status, reply.body)  # Stytch's SDK model
    assert parsed.status == "pending" and parsed.user.status == "pending"
    assert parsed.user.emails[0].email == "ada@example.com" and parsed.user.emails[0].verified is False
    assert parsed.user.name.first_name == "Ada" and parsed.user.name.last_name == "Lovelace"
    assert parsed.user.trusted_metadata == {"plan": "team"} and parsed.user.roles == ["editor"]
    assert outbox.messages() == []
    assert _kinds() == ["EMAIL", "USER"]
    (row,) = api.readers().body["readers"]
    assert (row["status"], row["link_state"], row["role"]) == ("pending", "none", "editor")
    assert [e["event"] for e in row["history"]] == ["created"]


def test_a_created_user_signs_in_with_a_link_from_send(api, outbox):
    user_id = _create(api).body["user_id"]

    sent = api.send("send", {"email": "ada@example.com"})
    assert sent.status == 200 and sent.body["user_id"] == user_id
    reply = api.authenticate(last_token(outbox))

    assert reply.status == 200 and reply.body["user"]["status"] == "active"


def test_an_email_taken_already_is_duplicate_email_and_changes_nothing(api):
    api.invite()
    before = table_items()

    reply = _create(api, "ada@example.com")

    assert reply.status == 400 and reply.body["error_type"] == "duplicate_email"
    assert table_items() == before


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"phone_number": "+15555550100"}, "phone_number"),
        ({"external_id": "crm-42"}, "external_id"),
        ({"roles": ["a", "b"]}, "roles"),
        ({"trusted_metadata": {f"k{i}": i for i in range(21)}}, "trusted_metadata"),
        ({"untrusted_metadata": {"blob": "x" * 4100}}, "untrusted_metadata"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_create_refuses_what_it_cannot_keep_and_writes_nothing(api, fields, mentions):
    reply = _create(api, **fields)

    assert reply.status == 400 and mentions in reply.body["error_message"], reply.body
    assert table_items() == []


def test_get_answers_stytchs_user_and_404_for_nobody(api):
    user_id = api.invite(name={"first_name": "Ada"}).body["user_id"]

    reply = _get(api, user_id)
    assert reply.status == 200
    parsed = GetResponse.from_json(reply.status, reply.body)
    assert parsed.user_id == user_id and parsed.name.first_name == "Ada" and parsed.status == "pending"

    for nobody in (UNKNOWN, "not-a-user-id", "user-live-" + UNKNOWN[10:]):
        missing = _get(api, nobody)
        assert missing.status == 404 and missing.body["error_type"] == "user_not_found", nobody


def test_update_replaces_name_parts_and_role_and_merges_metadata(api):
    user_id = api.invite(
        name={"first_name": "Ada", "last_name": "Byron"},
        trusted_metadata={"plan": "team", "seats": 3},
        untrusted_metadata={"theme": "dark"},
    ).body["user_id"]

    reply = _update(
        api,
        user_id,
        user_id=user_id,  # Stytch's Python SDK repeats it in the body
        name={"first_name": None, "middle_name": None, "last_name": "Lovelace"},
        trusted_metadata={"seats": None, "region": "eu"},
        roles=["admin"],
        attributes={"ip_address": "203.0.113.9"},
    )

    assert reply.status == 200, reply.body
    parsed = UpdateResponse.from_json(reply.status, reply.body)
    assert parsed.user.name.first_name == "Ada" and parsed.user.name.last_name == "Lovelace"
    assert parsed.user.trusted_metadata == {"plan": "team", "region": "eu"}  # merged; null deleted a key
    assert parsed.user.untrusted_metadata == {"theme": "dark"}  # not named: kept
    assert parsed.user.roles == ["admin"] and parsed.emails[0].email == "ada@example.com"
    assert _get(api, user_id).body["trusted_metadata"] == {"plan": "team", "region": "eu"}


def test_an_update_past_the_metadata_limits_or_for_nobody_changes_nothing(api):
    user_id = api.invite(untrusted_metadata={f"k{i}": i for i in range(20)}).body["user_id"]
    before = table_items()

    over = _update(api, user_id, untrusted_metadata={"k20": 20})
    mismatch = _update(api, user_id, user_id=UNKNOWN, name={"first_name": "Eve"})
    nobody = _update(api, UNKNOWN, name={"first_name": "Eve"})

    assert over.status == 400 and over.body["error_type"] == "invalid_metadata"
    assert "untrusted_metadata" in over.body["error_message"]
    assert mismatch.status == 400 and "user_id" in mismatch.body["error_message"]
    assert nobody.status == 404 and nobody.body["error_type"] == "user_not_found"
    assert table_items() == before


def test_delete_erases_everything_that_holds_the_user_and_their_sessions_stop(api, outbox):
    # Given a stranger's access request, then an invite retried with an Idempotency-Key, and a session
    api.request_link("ada@example.com")
    sent = event("invite", {"email": "ada@example.com", "delivery": "none"})
    sent["headers"]["idempotency-key"] = "invite-ada"
    invited = api.deliver(sent).body
    session = api.authenticate(token_of(invited["magic_link_url"]), session_duration_minutes=60).body
    api.invite("bob@example.com")
    assert {"REQUEST", "RATE", "IDEMPOTENCY", "USER", "EMAIL"} <= set(_kinds())

    # When Ada is deleted
    reply = _delete(api, invited["user_id"])

    # Then the answer is Stytch's, and nothing of hers is left: only Bob and his counters remain
    assert reply.status == 200
    assert DeleteResponse.from_json(reply.status, reply.body).user_id == invited["user_id"]
    left = json.dumps(table_items())
    assert "ada@example.com" not in left and invited["user_id"] not in left
    assert [r["email"] for r in api.readers().body["readers"]] == ["bob@example.com"]
    # And her session stops at once, her user is gone, and a second delete is 404
    refused = api.send("sessions_authenticate", {"session_token": session["session_token"]})
    assert refused.status == 404 and refused.body["error_type"] == "session_not_found"
    assert _get(api, invited["user_id"]).status == 404
    assert _delete(api, invited["user_id"]).body["error_type"] == "user_not_found"
    # And the retried invite is a new invite of a new user, not the erased answer
    again = api.deliver(sent)
    assert again.status == 200 and again.body["user_id"] != invited["user_id"]


def test_a_deleted_email_can_be_invited_again_as_a_new_user(api, outbox):
    first = api.invite().body["user_id"]
    assert _delete(api, first).status == 200

    second = api.invite()

    assert second.status == 200 and second.body["user_id"] != first
    assert api.authenticate(last_token(outbox)).status == 200


def _emails(reply) -> list[str]:
    assert reply.status == 200, reply.body
    SearchResponse.from_json(reply.status, reply.body)
    return [u["emails"][0]["email"] for u in reply.body["results"]]


@pytest.fixture
def people(api, outbox, clock):
    """Four readers created a minute apart (ada first); ada and cy have signed in."""
    ids = {}
    for name in ("ada", "bob", "cy", "dee"):
        ids[name] = api.invite(f"{name}@example.com").body["user_id"]
        if name in ("ada", "cy"):
            assert api.authenticate(last_token(outbox)).status == 200
        clock.advance(60)
    return ids


def test_search_by_status_prefix_and_created_at_with_and(api, people):
    everyone = _emails(api.send("users_search", {}))
    assert everyone == ["ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    assert _emails(_search(api, ("status", "active"))) == ["ada@example.com", "cy@example.com"]
    assert _emails(_search(api, ("email_address_fuzzy", "b"))) == ["bob@example.com"]
    second = _get(api, people["bob"]).body["created_at"]
    assert _emails(_search(api, ("created_at_greater_than", second))) == ["cy@example.com", "dee@example.com"]
    assert _emails(_search(api, ("created_at_less_than", second))) == ["ada@example.com"]
    both = _search(api, ("status", "pending"), ("created_at_greater_than", second))
    assert _emails(both) == ["dee@example.com"]
    between = {"greater_than": "2000-01-01T00:00:00Z", "less_than": second}
    assert _emails(_search(api, ("created_at_between", between), ("email_address_fuzzy", "a"))) == ["ada@example.com"]


def test_search_by_user_id_and_email_address_reads_those_users_by_key(api, aws_calls, people):
    aws_calls.clear()
    reply = _search(api, ("user_id", [people["cy"], people["ada"], UNKNOWN]), ("status", "active"))

    assert _emails(reply) == ["ada@example.com", "cy@example.com"]
    assert reply.body["results_metadata"] == {"total": 2, "next_cursor": None}
    assert aws_calls[("dynamodb", "GetItem")] == 3 and aws_calls[("dynamodb", "Query")] == 0
    by_email = _search(api, ("email_address", ["bob@example.com", "nobody@example.com"]))
    assert _emails(by_email) == ["bob@example.com"]
    crossed = _search(api, ("user_id", [people["ada"]]), ("email_address", ["bob@example.com"]))
    assert _emails(crossed) == []


def test_search_pages_with_stytchs_cursor_on_one_query_of_the_index_each(api, aws_calls, people):
    seen, cursor, pages = [], None, 0
    aws_calls.clear()
    while True:
        reply = api.send("users_search", {"limit": 3, **({"cursor": cursor} if cursor else {})})
        seen += _emails(reply)
        pages += 1
        cursor = reply.body["results_metadata"]["next_cursor"]
        if cursor is None:
            break

    assert seen == ["ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    assert aws_calls[("dynamodb", "Query")] == pages and aws_calls[("dynamodb", "Scan")] == 0
    ids = [people[n] for n in ("ada", "bob", "cy", "dee")]
    first = _search(api, ("user_id", ids), limit=3)
    assert _emails(first) == seen[:3] and first.body["results_metadata"]["total"] == 4
    rest = _search(api, ("user_id", ids), limit=3, cursor=first.body["results_metadata"]["next_cursor"])
    assert _emails(rest) == seen[3:] and rest.body["results_metadata"]["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "error_type", "mentions"),
    [
        (
            {"query": {"operator": "AND", "operands": [{"filter_name": "phone_number", "filter_value": ["+1555"]}]}},
            "unsupported_search_filter",
            "phone_number",
        ),
        (
            {"query": {"operator": "AND", "operands": [{"filter_name": "status", "filter_value": "revoked"}]}},
            "bad_request",
            "status",
        ),
        (
            {
                "query": {
                    "operator": "AND",
                    "operands": [{"filter_name": "created_at_less_than", "filter_value": "soon"}],
                }
            },
            "bad_request",
            "created_at_less_than",
        ),
        (
            {"query": {"operator": "AND", "operands": [{"filter_name": "user_id", "filter_value": "one"}]}},
            "bad_request",
            "user_id",
        ),
        (
            {
                "query": {
                    "operator": "OR",
                    "operands": [
                        {"filter_name": "status", "filter_value": "active"},
                        {"filter_name": "email_address_fuzzy", "filter_value": "a"},
                    ],
                }
            },
            "bad_request",
            "OR",
        ),
        ({"limit": 1001}, "bad_request", "limit"),
        ({"cursor": "forged"}, "invalid_cursor", None),
    ],
)
def test_unsupported_or_malformed_searches_are_400_naming_the_problem(api, body, error_type, mentions):
    api.invite()

    reply = api.send("users_search", body)

    assert reply.status == 400 and reply.body["error_type"] == error_type, reply.body
    if mentions:
        assert mentions in reply.body["error_message"]


def test_a_cursor_only_continues_the_search_it_came_from(api, people):
    cursor = api.send("users_search", {"limit": 1}).body["results_metadata"]["next_cursor"]

    reply = _search(api, ("status", "active"), cursor=cursor)

    assert reply.status == 400 and reply.body["error_type"] == "invalid_cursor"
