"""Hostile input from anyone, credentials or not: every JSON route answers a 4xx in Stytch's shape (never a
5xx, and never a ServerErrors metric for the alarms), and a refused request writes nothing: the table is as
it was, no mail goes out, and the reader's link and session still work afterwards."""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import quote

import jwt
import pytest
from support import Reply, table_items, token_of

from local import stack
from local.cfn import Template
from magiclink import openapi
from magiclink.models.fields import METADATA_MAX_BYTES, METADATA_MAX_DEPTH

ERROR_FIELDS = {"status_code", "request_id", "error_type", "error_message", "error_url"}
EMAIL = "ada@example.com"


@cache
def _document() -> dict:
    return openapi.document(stack.Functions(Template()).resolvers(), version="test")


def _json_routes() -> list[tuple[str, str, bool]]:
    """(method, path, takes a body) for every operation of the OpenAPI document: a new route is covered."""
    return [
        (method.upper(), path, "requestBody" in operation)
        for path, operations in _document()["paths"].items()
        for method, operation in operations.items()
    ]


ROUTES = _json_routes()
BODY_ROUTES = [(method, path) for method, path, takes_body in ROUTES if takes_body]


class Reader:
    """Ada, with a reusable link and a live session: what a hostile request must leave exactly as it was."""

    def __init__(self, api):
        self.api = api
        invited = api.invite(EMAIL, delivery="none", reusable=True)
        assert invited.status == 200, invited.body
        self.token = token_of(invited.body["magic_link_url"])
        signed_in = api.authenticate(self.token, session_duration_minutes=60)
        assert signed_in.status == 200, signed_in.body
        self.session_token = signed_in.body["session_token"]
        self.fields = {"email": EMAIL, "token": self.token, "session_token": self.session_token}

    def still_gets_in(self) -> None:
        assert self.api.authenticate(self.token).status == 200
        assert self.api.send("sessions_authenticate", {"session_token": self.session_token}).status == 200


@pytest.fixture
def reader(api) -> Reader:
    return Reader(api)


def _stored() -> list[dict]:
    return sorted(table_items(), key=lambda item: json.dumps(item, sort_keys=True))


def _call(api, method: str, path: str, body: str, content_type: str) -> Reply:
    """The request as API Gateway hands it over, with the project's credentials (public routes ignore them)."""
    concrete = path.replace("{email}", quote(EMAIL)).replace("{project_id}", stack.credentials()[0])
    headers = {"content-type": content_type, "authorization": stack.basic_auth_header()}
    sent = stack.http_event(method, concrete, route=f"{method} {path}", headers=headers, body=body)
    return api.deliver(sent)


def _metrics(capsys) -> set[str]:
    """The metric names powertools printed (EMF) since the last call."""
    out = capsys.readouterr().out
    blobs = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    return {m["Name"] for blob in blobs for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def _assert_refused(reply: Reply, status: int | None = None, mentions: str | None = None) -> None:
    assert 400 <= reply.status < 500, (reply.status, reply.body)
    if status is not None:
        assert reply.status == status, reply.body
    assert set(reply.body) == ERROR_FIELDS and reply.body["status_code"] == reply.status
    if mentions:
        assert mentions in reply.body["error_message"], reply.body


def _with(fields: dict, raw: str) -> str:
    """`fields` as a JSON object with one more member written out verbatim (what json.dumps cannot write)."""
    return json.dumps(fields)[:-1] + f', "hostile": {raw}}}'


HOSTILE = {
    # name: (body from the reader's own fields, Content-Type, the status, what the message says)
    "a number past Python's int limit": (lambda f: _with(f, "9" * 5000), "application/json", 400, "digits"),
    "a negative one": (lambda f: _with(f, "-" + "9" * 5000), "application/json", 400, "digits"),
    "nesting past the recursion limit": (
        lambda f: _with(f, "[" * 10_000 + "]" * 10_000),
        "application/json",
        400,
        "nested too deeply",
    ),
    "NaN": (lambda f: _with(f, "NaN"), "application/json", 400, "not valid JSON"),
    "Infinity by overflow": (lambda f: _with(f, "1e999"), "application/json", 400, "too large"),
    "an unpaired surrogate": (lambda f: _with(f, '"\\ud800"'), "application/json", 400, "surrogate"),
    # No content has no format: as for any empty body, a route that needs one says it is missing
    "an empty body typed text/plain": (lambda f: "", "text/plain", 400, "body is required"),
    "an empty body typed multipart": (lambda f: "", "multipart/form-data; boundary=x", 400, "body is required"),
    "an empty body typed as a form": (lambda f: "", "application/x-www-form-urlencoded", 400, None),
}


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m} {p}" for m, p in BODY_ROUTES])
def test_a_hostile_body_on_any_json_route_is_a_4xx_that_writes_nothing(api, outbox, reader, capsys, method, path):
    for name, (body, content_type, status, mentions) in HOSTILE.items():
        before, mails = _stored(), len(outbox.messages())
        capsys.readouterr()

        reply = _call(api, method, path, body(reader.fields), content_type)

        assert 400 <= reply.status < 500, (name, reply.status, reply.body)
        _assert_refused(reply, status, mentions)
        assert "ServerErrors" not in _metrics(capsys), name
        assert _stored() == before, name
        assert len(outbox.messages()) == mails, name
    reader.still_gets_in()


@pytest.mark.parametrize(
    ("method", "path"),
    [(m, p) for m, p, body in ROUTES if not body],
    ids=[f"{m} {p}" for m, p, body in ROUTES if not body],
)
def test_a_route_that_takes_no_body_ignores_a_hostile_one(api, outbox, reader, capsys, method, path):
    capsys.readouterr()
    for name, (body, content_type, _, _) in HOSTILE.items():
        reply = _call(api, method, path, body(reader.fields), content_type)

        assert reply.status < 500, (name, reply.body)
    assert "ServerErrors" not in _metrics(capsys)


def test_every_operation_of_the_document_is_covered():
    assert len(ROUTES) >= 12 and len(BODY_ROUTES) >= 7
    assert ("POST", "/v1/magic_links/email/request", True) in ROUTES  # the public one too


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m} {p}" for m, p in BODY_ROUTES])
def test_a_mixed_case_json_media_type_is_read_as_json(api, reader, method, path):
    # Media types are case-insensitive (RFC 9110): the body is parsed, so its unknown field is named
    reply = _call(api, method, path, json.dumps({"not_a_field": 1}), "Application/Json; charset=UTF-8")

    _assert_refused(reply, 400, "not_a_field: is not a known field")


def test_an_invite_typed_application_json_in_mixed_case_is_served(api, outbox):
    body = json.dumps({"email": EMAIL, "name": {"first_name": "Ada"}})

    reply = _call(api, "POST", "/v1/magic_links/email/invite", body, "Application/JSON")

    assert reply.status == 200, reply.body
    assert api.readers().body["readers"][0]["name"]["first_name"] == "Ada"
    assert len(outbox.messages()) == 1


def test_a_console_api_call_with_a_hostile_body_is_a_4xx(api, capsys):
    sent = stack.http_event(
        "POST",
        "/console/api/readers",
        route="ANY /console/{proxy+}",
        headers={"content-type": "application/json"},
        body=_with({"email": EMAIL}, "9" * 5000),
    )
    capsys.readouterr()

    reply = api.deliver(sent)

    _assert_refused(reply)
    assert "ServerErrors" not in _metrics(capsys)
    assert table_items() == []


@pytest.mark.parametrize("expires", ["9" * 5000, "²", "-1", "1e3", "0x10", ""])
def test_the_owners_grant_form_with_a_hostile_expires_is_refused_and_grants_nothing(api, outbox, capsys, expires):
    sent = stack.http_event(
        "POST",
        "/v1/access_requests/grant",
        route="POST /v1/access_requests/grant",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=f"email=stranger%40example.com&expires={expires}&sig=" + "0" * 64,
    )
    capsys.readouterr()

    reply = api.deliver(sent)

    assert reply.status == 403 and "not valid" in reply.body
    assert "ServerErrors" not in _metrics(capsys)
    assert table_items() == []
    assert outbox.messages() == []


# Free-form JSON (metadata, custom claims): bounded at the edge, before a link is spent or a claim stored.
def _nested(depth: int) -> dict:
    """An object `depth` levels deep: {"a": {"a": ... {}}}."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


FREE_FORM = [
    ("invite", "trusted_metadata"),
    ("invite", "untrusted_metadata"),
    ("authenticate", "session_custom_claims"),
    ("sessions_authenticate", "session_custom_claims"),
]
TOO_MUCH = {
    "one level too deep": (_nested(METADATA_MAX_DEPTH + 1), f"nests deeper than {METADATA_MAX_DEPTH} levels"),
    "300 levels deep": (_nested(300), "nests deeper than"),
    "a list too deep": ({"a": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}, "nests deeper than"),
    "one byte too large": (
        {"blob": "x" * (METADATA_MAX_BYTES - len('{"blob":""}') + 1)},
        f"is larger than {METADATA_MAX_BYTES} bytes",
    ),
    "too large in UTF-8": ({"blob": "é" * (METADATA_MAX_BYTES // 2)}, "is larger than"),
}


def _request(reader: Reader, route: str, field: str, value: dict) -> dict:
    own = {
        "invite": {"email": EMAIL, "delivery": "none"},
        "authenticate": {"token": reader.token, "session_duration_minutes": 60},
        "sessions_authenticate": {"session_token": reader.session_token},
    }
    return own[route] | {field: value}


@pytest.mark.parametrize(("route", "field"), FREE_FORM, ids=[f"{r}.{f}" for r, f in FREE_FORM])
def test_free_form_json_too_deep_or_too_large_is_a_400_naming_the_field_and_writes_nothing(
    api, outbox, reader, capsys, route, field
):
    for name, (value, says) in TOO_MUCH.items():
        before, mails = _stored(), len(outbox.messages())
        capsys.readouterr()

        reply = api.send(route, _request(reader, route, field, value))

        assert reply.status == 400, (name, reply.body)
        _assert_refused(reply, 400, f"{field}: {says}")
        assert "ServerErrors" not in _metrics(capsys), name
        assert _stored() == before, name
        assert len(outbox.messages()) == mails, name
    reader.still_gets_in()


@pytest.mark.parametrize(("route", "field"), FREE_FORM, ids=[f"{r}.{f}" for r, f in FREE_FORM])
def test_free_form_json_at_the_limits_is_kept_and_answered(api, reader, route, field):
    deepest = _nested(METADATA_MAX_DEPTH)
    largest = {"blob": "é" * ((METADATA_MAX_BYTES - len('{"blob":""}')) // 2)}  # 4,096 bytes, 2,048 characters

    for value in (deepest, largest):
        if route == "sessions_authenticate":  # a session of its own: claims merge into a session's (Stytch's rule)
            reader.session_token = api.authenticate(reader.token, session_duration_minutes=60).body["session_token"]
        reply = api.send(route, _request(reader, route, field, value))
        assert reply.status == 200, reply.body

        if route == "invite":  # the new link's authentication answers the user, metadata and all
            signed_in = api.authenticate(token_of(reply.body["magic_link_url"]), session_duration_minutes=60)
            assert signed_in.body["user"][field] == value
        else:  # the claims are in the session and, at the top level, in its JWT
            claims_kept = reply.body["session"]["custom_claims"]
            assert {k: v for k, v in claims_kept.items() if k != "magiclink/grant"} == value  # beside the grant
            claims = jwt.decode(reply.body["session_jwt"], options={"verify_signature": False})
            assert {k: claims[k] for k in value} == value


# Human-readable fields: they reach the plain-text email, its Subject line and the landing page.
UNREADABLE = {
    "CR LF": "Grace\r\nBcc: eve@example.com",
    "NUL": "Grace\x00",
    "ESC": "Grace\x1b[31m",
    "NEL": "Grace\x85from Acme",
    "line separator": "Grace\u2028from Acme",
    "paragraph separator": "Grace\u2029from Acme",
    "right-to-left override": "Grace \u202eemca morf",
    "left-to-right isolate": "Grace \u2066Acme\u2069",
}
TEXT_FIELDS = {
    "inviter_name": lambda text: {"inviter_name": text},
    "name.first_name": lambda text: {"name": {"first_name": text}},
    "name.middle_name": lambda text: {"name": {"middle_name": text}},
    "name.last_name": lambda text: {"name": {"last_name": text}},
}


@pytest.mark.parametrize("field", sorted(TEXT_FIELDS))
def test_a_human_readable_field_with_control_characters_is_refused_and_nothing_is_sent(api, outbox, reader, field):
    before = _stored()
    for name, text in UNREADABLE.items():
        reply = api.invite(EMAIL, **TEXT_FIELDS[field](text))

        assert reply.status == 400, (name, reply.body)
        _assert_refused(reply, 400, f"{field}: must not contain control characters")
    assert _stored() == before
    assert outbox.messages() == []
    reader.still_gets_in()


def test_names_in_any_script_are_welcome(api, outbox):
    name = {"first_name": "Zoë-Łucja", "middle_name": "محمد", "last_name": "山田 👩‍💻"}

    reply = api.invite(EMAIL, name=name, inviter_name="Grâce from Ακμή")

    assert reply.status == 200, reply.body
    assert api.readers().body["readers"][0]["name"] == name
    assert "Zoë-Łucja" in outbox.messages()[-1].text
