"""Bad input: a 4xx in Stytch's shape naming the problem, never a 500, and nothing written or sent."""

from __future__ import annotations

import base64
import json

import pytest
from stytch.core.response_base import StytchErrorDetails
from support import basic, table_items

ERROR_FIELDS = {"status_code", "request_id", "error_type", "error_message", "error_url"}


def _assert_error(reply, status: int, error_type: str, mentions: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert set(reply.body) == ERROR_FIELDS
    assert reply.body["status_code"] == status
    assert reply.body["error_type"] == error_type
    assert error_type in reply.body["error_url"]
    StytchErrorDetails(**reply.body)  # what Stytch's SDK parses errors with
    if mentions:
        assert mentions in reply.body["error_message"]


@pytest.mark.parametrize(
    ("body", "error_type", "mentions"),
    [
        ({}, "invalid_email", "email"),
        ({"email": "not-an-email"}, "invalid_email", "email"),
        ({"email": "ada@example"}, "invalid_email", "email"),
        ({"email": "ada@@example.com"}, "invalid_email", "email"),
        ({"email": "a" * 65 + "@example.com"}, "invalid_email", "email"),
        ({"email": 42}, "invalid_email", "email"),
        (
            {"email": "ada@example.com", "invite_expiration_minutes": 4},
            "invalid_expiration",
            "invite_expiration_minutes",
        ),
        (
            {"email": "ada@example.com", "invite_expiration_minutes": 10081},
            "invalid_expiration",
            "invite_expiration_minutes",
        ),
        ({"email": "ada@example.com", "invite_expiration_minutes": "60"}, "bad_request", "invite_expiration_minutes"),
        ({"email": "ada@example.com", "locale": "de"}, "invalid_locale", "locale"),
        ({"email": "ada@example.com", "locale": "EN_us"}, "invalid_locale", "locale"),
        ({"email": "ada@example.com", "trusted_metadata": "plan=team"}, "bad_request", "trusted_metadata"),
        ({"email": "ada@example.com", "untrusted_metadata": [1, 2]}, "bad_request", "untrusted_metadata"),
        ({"email": "ada@example.com", "name": "Ada"}, "bad_request", "name"),
        ({"email": "ada@example.com", "name": {"first_name": "A" * 257}}, "bad_request", "name.first_name"),
        ({"email": "ada@example.com", "favourite_colour": "blue"}, "bad_request", "favourite_colour"),
        ({"email": "ada@example.com", "reusable": "yes"}, "bad_request", "reusable"),
        ({"email": "ada@example.com", "delivery": "sms"}, "bad_request", "delivery"),
        (
            {"email": "ada@example.com", "invite_magic_link_url": "javascript:alert(1)"},
            "invalid_invite_magic_link_url",
            None,
        ),
    ],
)
def test_invalid_invites_are_refused_and_nothing_is_written(api, outbox, body, error_type, mentions):
    reply = api.send("invite", body)

    _assert_error(reply, 400, error_type, mentions)
    assert table_items() == []
    assert outbox.messages() == []


@pytest.mark.parametrize("raw", ['{"email":', "[]", "null", '"ada@example.com"', "\x00\xff"])
def test_malformed_bodies_are_400(api, outbox, raw):
    _assert_error(api.send("invite", raw_body=raw), 400, "bad_request")
    assert table_items() == []


@pytest.mark.parametrize("name", ["invite", "request_link", "access_submit", "landing_continue"])
def test_a_body_of_bytes_that_are_not_utf_8_is_400_not_500(api, outbox, name):
    # API Gateway hands such a body over base64-encoded; decoding it as text must not be a 500 (found by fuzzing)
    from support import event

    sent = event(name)
    sent["body"], sent["isBase64Encoded"] = base64.b64encode(b"\xff\xfeZ\x9f(").decode(), True

    _assert_error(api.deliver(sent), 400, "bad_request", "UTF-8")
    assert table_items() == []
    assert outbox.messages() == []


def test_a_body_over_64_kib_is_refused(api, outbox):
    body = {"email": "ada@example.com", "trusted_metadata": {"blob": "x" * 70_000}}

    _assert_error(api.send("invite", raw_body=json.dumps(body)), 413, "request_too_large")
    assert table_items() == []


def test_a_body_that_is_not_json_typed_is_415(api, functions):
    from support import event

    sent = event("invite", {"email": "ada@example.com"})
    sent["headers"]["content-type"] = "application/x-www-form-urlencoded"
    response = functions.invoke("InviteFunction", sent)

    assert response["statusCode"] == 415
    assert json.loads(response["body"])["error_type"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "auth",
    [
        "",
        "Bearer abc",
        "Basic !!!notbase64",
        basic("project-test-local", "wrong"),
        basic("project-test-other", "secret-test-local"),
        basic("project-test-local", ""),
        "Basic " + "cHJvamVjdC10ZXN0LWxvY2Fs",  # no colon
    ],
)
@pytest.mark.parametrize("route", ["invite", "authenticate", "revoke_invite"])
def test_wrong_or_missing_credentials_are_401_before_anything_else(api, outbox, auth, route):
    # Even a malformed body gets 401 first: nothing about the request is judged without credentials.
    reply = api.send(route, raw_body='{"email":', auth=auth)

    _assert_error(reply, 401, "unauthorized_credentials")
    assert table_items() == []


def test_unknown_routes_get_the_error_shape(api, functions):
    from support import event

    sent = event("invite", {"email": "ada@example.com"})
    sent["rawPath"] = sent["requestContext"]["http"]["path"] = "/v1/magic_links/email/nope"
    response = functions.invoke("InviteFunction", sent)

    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error_type"] == "route_not_found"
