"""No issued token, session token, JWT, hash, key or secret reaches a log line, a metric or an error body.

One test drives every flow of the service with its logs at DEBUG, collects every secret it issued or keeps
(from the outbox, the answers, Secrets Manager and the table) and every wrong one it was sent on purpose, and
looks for each in the log lines, the metrics (EMF) and the error answers, headers and cookies included.
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
from support import basic, event, last_token, table_items, token_of
from test_cleanup import _run_cleanup
from test_console import _ask_to_sign_in, _call, _forged, _sign_in
from test_key_rotation import _rotate
from test_mail import _feed

from local import stack
from magiclink import sessions, tokens

# Counted by the flows below: if these are not in what was captured, the metrics were not captured.
METRICS = {
    "Invites",
    "EmailsSent",
    "GrantsRenewed",
    "Authentications",
    "AuthenticationsRefused",
    "SessionsStarted",
    "SessionsExtended",
    "LinksIssued",
    "LinksDeactivated",
    "AccessRevoked",
    "LinkRequests",
    "AccessRequests",
    "EmailsBounced",
    "ClientErrors",
    "ServerErrors",
    "CleanupExpired",
    "CleanupDeleted",
}
# One of each refusal below: if one is missing, that failing request did not run as meant.
REFUSALS = {
    "unable_to_auth_magic_link",
    "magic_link_not_found",
    "pkce_mismatch",
    "pkce_expected_code_verifier",
    "session_not_found",
    "invalid_session_jwt",
    "bad_request",
    "unauthorized_credentials",
    "too_many_requests",
    "idempotency_key_conflict",
    "invalid_csrf_token",
    "service_unavailable",
    "grant_not_active",
}


class Trail:
    """Every event the functions were sent and what they answered, exactly as API Gateway would get it."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, dict]] = []
        self.pace = 0  # seconds the service's clock moves before each request

    def record(self, functions, clock):
        invoke = functions.invoke

        def recorded(logical_id: str, sent: dict):
            clock.advance(self.pace)
            response = invoke(logical_id, sent)
            self.calls.append((sent, response))
            return response

        return recorded

    def errors(self) -> list[dict]:
        return [response for _, response in self.calls if response["statusCode"] >= 400]


@pytest.fixture
def trail(functions, clock, monkeypatch) -> Trail:
    t = Trail()
    monkeypatch.setattr(functions, "invoke", t.record(functions, clock))
    return t


@pytest.fixture
def debug_logs(monkeypatch, caplog) -> io.StringIO:
    """The service's JSON log lines (what CloudWatch gets), at DEBUG: what `LogLevel: DEBUG` deploys."""
    from magiclink.observability import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    caplog.set_level(logging.DEBUG, logger=logger.name)  # the powertools Logger's own logger; restored after
    assert logger.log_level == logging.DEBUG
    return stream


def _keys() -> list[str]:
    sm = boto3.client("secretsmanager")
    value = json.loads(sm.get_secret_value(SecretId=stack.local_names()["TokenKeySecret"])["SecretString"])
    return [value["key"], *value.get("previous_keys", [])]


def _api_secret() -> str:
    sm = boto3.client("secretsmanager")
    return json.loads(sm.get_secret_value(SecretId=stack.local_names()["CredentialsSecret"])["SecretString"])["secret"]


def _stored_hashes() -> set[str]:
    """Every link hash and session hash the table holds now."""
    found: set[str] = set()
    for item in table_items():
        if "link_hash" in item:
            found.add(item["link_hash"]["S"])
        if "code_hash" in item:  # a one-time code's keyed hash (the 6 digits are too short to look for)
            _CODE_HASHES.add(item["code_hash"]["S"])
        for entry in item.get("sessions", {}).get("M", {}).values():
            found.add(entry["M"]["h"]["S"])
    return found


_CODE_HASHES: set[str] = set()


def _continue(api, token: str):
    return api.send("landing_continue", raw_body=urlencode({"token": token}))


def _with_key(api, body: dict, key: str):
    sent = event("invite", body)
    sent["headers"]["idempotency-key"] = key
    return api.deliver(sent)


def _run_every_flow(api, outbox, clock, configure, functions, monkeypatch, trail) -> dict[str, set[str]]:
    """The service's flows, the happy ones and the refused ones; returns what it handed out that is secret."""
    configure(NOTIFY_OWNER="true", OWNER_EMAIL="owner@example.com")
    probes: set[str] = set()  # wrong secrets sent on purpose: no answer or log may echo them either
    stored: set[str] = set()
    keys: set[str] = set()

    # Invite by email and with delivery=none (once with an Idempotency-Key, retried, then reused wrongly)
    assert api.invite("ada@example.com", name={"first_name": "Ada"}).status == 200
    ada = last_token(outbox)
    bob = token_of(api.invite("bob@example.com", delivery="none").body["magic_link_url"])
    first = _with_key(api, {"email": "cy@example.com", "delivery": "none"}, "invite-cy-1")
    assert _with_key(api, {"email": "cy@example.com", "delivery": "none"}, "invite-cy-1").body == first.body
    assert _with_key(api, {"email": "dee@example.com"}, "invite-cy-1").status == 409
    cy = token_of(first.body["magic_link_url"])

    # Authenticate with a session; sessions by JWT, a forged one, and one revoked by its JWT. First, while the
    # service's clock is the real one: a JWT's iat and nbf must not be ahead of the verifying library's clock.
    ada_session = api.authenticate(ada, session_duration_minutes=60, session_custom_claims={"team": "docs"}).body
    session_token, jwt = ada_session["session_token"], ada_session["session_jwt"]
    assert api.authenticate(ada).status == 401  # spent
    assert api.send("sessions_authenticate", {"session_jwt": jwt}).status == 200
    forged_jwt = jwt.rsplit(".", 1)[0] + "." + "A" * 342
    probes |= {forged_jwt, forged_jwt.rsplit(".", 1)[1]}
    assert api.send("sessions_authenticate", {"session_jwt": forged_jwt}).status == 401
    cy_session = api.authenticate(cy, session_duration_minutes=30).body
    assert api.send("sessions_revoke", {"session_jwt": cy_session["session_jwt"]}).status == 200
    for field in ("session_token", "session_jwt"):
        assert api.send("sessions_authenticate", {field: cy_session[field]}).status == 404
    trail.pace = 2  # from now on requests come seconds apart (the per-email limit allows one link a second)

    # Send a login link and extend the session with it; sessions by token (extending), one revoked by id
    assert api.send("send", {"email": "ada@example.com"}).status == 200
    extended = api.authenticate(last_token(outbox), session_token=session_token, session_duration_minutes=90)
    assert extended.body["session_token"] == session_token
    by_token = api.send("sessions_authenticate", {"session_token": session_token, "session_duration_minutes": 120})
    assert by_token.status == 200
    bob_session = api.authenticate(bob, session_duration_minutes=30).body["session"]
    assert api.send("sessions_revoke", {"session_id": bob_session["session_id"]}).status == 200
    stored |= _stored_hashes()

    # The landing page: scanners open it, the person presses Continue (hosted mode: the session comes back
    # in the URL fragment; app mode: the token is forwarded to the app)
    api.invite("eve@example.com", session_duration_minutes=120)
    eve = last_token(outbox)
    assert api.send("landing_show", query={"token": eve}).status == 200
    assert api.send("landing_head", query={"token": eve}).status == 200
    hosted = _continue(api, eve)
    assert hosted.status == 303 and "#session_token=" in hosted.headers["Location"]
    assert _continue(api, eve).status == 410
    spent_page = api.send("landing_show", query={"token": eve})
    assert "no longer works" in spent_page.body and eve not in spent_page.body
    api.invite("fay@example.com")
    fay = last_token(outbox)
    assert _continue(api, fay).status == 303
    assert api.authenticate(fay).status == 200

    # PKCE: no verifier, a wrong one, then the right one
    verifier = secrets.token_urlsafe(48)
    challenge = tokens.s256(verifier)
    pkce = token_of(api.invite("gus@example.com", delivery="none", code_challenge=challenge).body["magic_link_url"])
    assert api.authenticate(pkce).status == 400
    wrong_verifier = secrets.token_urlsafe(48)
    probes.add(wrong_verifier)
    assert api.authenticate(pkce, code_verifier=wrong_verifier).body["error_type"] == "pkce_mismatch"
    assert api.authenticate(pkce, code_verifier=verifier, session_duration_minutes=60).status == 200

    # Readers: list and page, re-link (email, none, reusable), deactivate, revoke
    cursor = api.readers(limit="2").body["next_cursor"]
    assert api.readers(limit="2", cursor=cursor).status == 200
    assert api.new_link("bob@example.com").status == 200
    reusable = token_of(api.new_link("bob@example.com", delivery="none", reusable=True).body["magic_link_url"])
    assert api.authenticate(reusable).status == 200 and api.authenticate(reusable).status == 200
    assert api.deactivate("bob@example.com").status == 200
    assert api.authenticate(reusable).status == 401
    live = token_of(api.new_link("fay@example.com", delivery="none").body["magic_link_url"])
    assert api.revoke_access("fay@example.com").status == 200
    assert api.authenticate(live).status == 401
    assert api.new_link("fay@example.com").body["error_type"] == "grant_not_active"
    assert api.invite("fay@example.com", delivery="none").body["grant_renewed"] is True
    api.invite("hal@example.com")
    assert api.revoke("hal@example.com").status == 200
    stored |= _stored_hashes()

    # Self-service: a reader asks for a link, a stranger asks the owner, who grants in one click
    clock.advance(61)
    assert api.request_link("bob@example.com").body["outcome"] == "link_sent"
    assert api.send("access_submit", raw_body="email=ada%40example.com").status == 200
    assert api.request_link("ivy@example.com").body["outcome"] == "access_requested"
    assert api.request_link("ivy@example.com").status == 429
    grant = {k: v[0] for k, v in parse_qs(urlsplit(outbox.messages()[-1].links[0]).query).items()}
    assert api.send("access_grant_confirm", query=grant).status == 200
    assert api.send("access_grant_confirm", query=grant | {"email": "mallory@example.com"}).status == 403
    assert api.send("access_grant_submit", raw_body=urlencode(grant)).status == 200
    assert api.authenticate(last_token(outbox)).status == 200

    # The console: sign in by link (cookie + CSRF), act, refuse a bad CSRF token, sign out
    cookie, csrf = _sign_in(api, outbox)
    assert cookie and csrf
    assert _call(api, "GET", "/console/api/readers", cookie=cookie)["statusCode"] == 200
    made = _call(api, "POST", "/console/api/readers", cookie=cookie, csrf=csrf, body={"email": "jo@example.com"})
    assert made["statusCode"] == 200
    relinked = _call(
        api, "POST", "/console/api/readers/jo%40example.com/links", cookie=cookie, csrf=csrf, body={"delivery": "none"}
    )
    assert json.loads(relinked["body"])["magic_link_url"]
    forged = _forged(csrf)
    probes.add(forged)
    refused = _call(api, "DELETE", "/console/api/readers/jo%40example.com", cookie=cookie, csrf=forged)
    assert refused["statusCode"] == 403
    assert _call(api, "POST", "/console/sign-out", cookie=cookie, form={"csrf": csrf})["statusCode"] == 303
    assert _call(api, "GET", "/console/api/readers", cookie=cookie)["statusCode"] == 401
    clock.advance(61)
    assert _ask_to_sign_in(api, "admin@example.com")["statusCode"] == 200
    spent = last_token(outbox)
    assert _call(api, "GET", f"/console/callback?token={spent}")["statusCode"] == 303
    assert _call(api, "GET", f"/console/callback?token={spent}")["statusCode"] == 410
    _sign_in(api, outbox, "kim@example.com", role="reader")  # refused: not an admin

    # Failing requests carrying real secrets, or near misses of them, in every place they could be echoed
    fresh = token_of(api.invite("lee@example.com", delivery="none").body["magic_link_url"])
    near = fresh[:-6] + ("AAAAAA" if not fresh.endswith("AAAAAA") else "BBBBBB")
    probes.add(near)
    near_session = session_token[:-6] + ("AAAAAA" if not session_token.endswith("AAAAAA") else "BBBBBB")
    probes.add(near_session)
    assert api.authenticate(near).status == 401
    unknown = secrets.token_urlsafe(48)
    probes.add(unknown)
    assert api.authenticate(unknown).status in (401, 404)
    assert api.send("sessions_authenticate", {"session_token": near_session}).status == 404
    assert api.send("sessions_revoke", {"session_token": near_session}).status == 404
    for raw in (
        json.dumps({"token": fresh, "session_duration_minutes": "soon"}),
        json.dumps({"token": fresh, "tokn": fresh}),
        json.dumps({"token": fresh * 9}),
        json.dumps({"token": fresh, "session_token": session_token * 8}),
        '{"token": "' + fresh + '"',
        json.dumps({"token": fresh, "padding": "x" * 70_000}),
    ):
        reply = api.send("authenticate", raw_body=raw)
        assert 400 <= reply.status < 500, raw[:80]
    typed = event("authenticate", {"token": fresh})
    typed["headers"]["content-type"] = "text/plain"
    assert api.deliver(typed).status == 415
    secret = _api_secret()
    for auth in (
        basic(secret, "nope"),
        basic("project-test-local", secret + "!"),
        basic("project-test-other", secret),
        "Bearer " + secret,
        "Basic " + secret,
    ):
        reply = api.send("authenticate", {"token": fresh}, auth=auth)
        assert reply.status == 401 and reply.body["error_type"] == "unauthorized_credentials"
    from magiclink import store

    def throttled(**_):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateItem")

    with monkeypatch.context() as patched:
        patched.setattr(store.dynamo.client(), "update_item", throttled)
        assert api.authenticate(fresh).status == 503
    assert api.authenticate(fresh, session_duration_minutes=60).status == 200  # nothing was spent
    stored |= _stored_hashes()

    # Mail events, the token key's rotation (what was issued before still works), then the cleanup
    _feed(functions, "ses_bounce", "ada@example.com")
    keys |= set(_keys())
    _rotate(list(keys))
    keys |= set(_keys())
    assert api.send("sessions_authenticate", {"session_token": session_token}).status == 200
    assert api.send("access_grant_confirm", query=grant).status == 200
    assert api.invite("max@example.com", delivery="none").status == 200
    stored |= _stored_hashes()
    clock.advance(31 * 86400)
    assert _run_cleanup(functions)["deleted"] >= 1

    return {"stored hash": stored, "token key": keys, "probe": probes, "PKCE code verifier": {verifier}}


def _secrets_handed_out(trail: Trail, outbox) -> dict[str, set[str]]:
    """Every secret in the answers and the emails: link tokens, session tokens and JWTs, cookies, CSRF tokens
    and the owner's grant-link signatures."""
    found: dict[str, set[str]] = {k: set() for k in ("link token", "session token", "session JWT", "CSRF token")}
    found["grant-link signature"] = set()
    for link in (link for mail in outbox.messages() for link in mail.links):
        query = parse_qs(urlsplit(link).query)
        found["link token"].update(query.get("token", []))
        found["grant-link signature"].update(query.get("sig", []))
    for _, response in trail.calls:
        headers = response.get("headers") or {}
        location = urlsplit(headers.get("Location", ""))
        found["link token"].update(parse_qs(location.query).get("token", []))
        handed = parse_qs(location.fragment)
        found["session token"].update(handed.get("session_token", []))
        found["session JWT"].update(handed.get("session_jwt", []))
        for cookie in response.get("cookies") or []:
            name, _, value = cookie.split(";")[0].partition("=")
            if name == "ml_console" and value:
                found["session token"].add(value)
        body = response.get("body") or ""
        if headers.get("Content-Type", "").startswith("application/json"):
            answer = json.loads(body)
            if answer.get("magic_link_url"):
                found["link token"].add(token_of(answer["magic_link_url"]))
            found["session token"].update(filter(None, [answer.get("session_token")]))
            found["session JWT"].update(filter(None, [answer.get("session_jwt")]))
        found["CSRF token"].update(re.findall(r'name="csrf-token" content="([^"]+)"', body))
    return found


def test_no_secret_reaches_a_log_line_a_metric_or_an_error_body(
    api, outbox, clock, configure, functions, monkeypatch, trail, debug_logs, caplog, capsys
):
    kept = _run_every_flow(api, outbox, clock, configure, functions, monkeypatch, trail)

    # What the service issued or keeps, and must never write out
    handed = _secrets_handed_out(trail, outbox)
    keys = sorted(kept["token key"])
    hashes = {
        "link hash": {tokens.token_hash(k.encode(), t) for k in keys for t in handed["link token"]},
        "session hash": {sessions.session_hash(t, k.encode()) for k in keys for t in handed["session token"]},
    }
    assert kept["stored hash"] <= hashes["link hash"] | hashes["session hash"], "a stored hash of an uncollected token"
    jwt_signatures = {jwt.rsplit(".", 1)[1] for jwt in handed["session JWT"]}
    kept_back = {"token key": set(keys), "API secret": {_api_secret()}} | hashes  # never in any answer either
    needles = handed | kept_back | {k: kept[k] for k in ("probe", "PKCE code verifier")}
    needles["JWT signature"] = jwt_signatures
    needles["code hash"] = set(_CODE_HASHES)
    for kind, values in needles.items():
        assert values, f"no {kind} was collected"
        assert all(len(v) >= 16 for v in values), kind  # none so short it could match by chance
    assert len(handed["link token"]) >= 20 and len(handed["session token"]) >= 5 and len(keys) == 2

    # (a) the logs: the JSON lines the service wrote, and every record at DEBUG (with its extra fields)
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in debug_logs.getvalue().splitlines()]
    messages = {line["message"] for line in lines}
    assert {"invite issued", "magic link authenticated", "access revoked", "cleanup finished"} <= messages
    assert any(line["level"] == "WARNING" and line.get("exception") for line in lines)  # the 503, with its trace
    records = "\n".join(json.dumps(vars(r), default=str) for r in caplog.records)
    logs = "\n".join([debug_logs.getvalue(), caplog.text, records, err])

    # (b) the metrics: the EMF blobs powertools prints at the end of each call
    blobs = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    emitted = {m["Name"] for blob in blobs for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert emitted >= METRICS, METRICS - emitted
    metrics = out

    # (c) the error answers, bodies and headers (cookies included)
    refusals = trail.errors()
    seen = {json.loads(r["body"]).get("error_type") for r in refusals if r["body"].startswith("{")}
    assert seen >= REFUSALS, REFUSALS - seen
    assert any(r["statusCode"] in (403, 410) and "<html" in r["body"].lower() for r in refusals)  # pages too
    errors = "\n".join(json.dumps(r) for r in refusals) + _spent_landing_pages(trail)
    answers = "\n".join(json.dumps(response) for _, response in trail.calls)

    leaks = {
        f"a {kind} in {where}"
        for kind, values in needles.items()
        for value in values
        for where, text in (("the logs", logs), ("the metrics", metrics), ("an error answer", errors))
        if value in text
    }
    leaks |= {f"a {kind} in an answer" for kind, values in kept_back.items() for value in values if value in answers}
    assert not leaks, sorted(leaks)


def _spent_landing_pages(trail: Trail) -> str:
    """The landing page shown for a link that no longer works: a refusal, though its status is 200."""
    return "\n".join(
        json.dumps(response) for _, response in trail.calls if "This link no longer works" in (response["body"] or "")
    )


def test_powertools_own_debug_lines_carry_no_token(api, outbox, caplog):
    """Powertools' own lines are dropped unless POWERTOOLS_DEBUG is set (its debug switch); then they reach
    CloudWatch, and they must carry no token either."""
    caplog.set_level(logging.DEBUG, logger="aws_lambda_powertools")
    token = token_of(api.invite("ada@example.com", delivery="none").body["magic_link_url"])
    assert "Continue" in api.send("landing_show", query={"token": token}).body
    session = api.authenticate(token, session_duration_minutes=60).body
    assert api.send("sessions_authenticate", {"session_token": session["session_token"]}).status == 200

    written = caplog.text + "\n".join(json.dumps(vars(r), default=str) for r in caplog.records)
    assert any(r.name.startswith("aws_lambda_powertools") and r.levelno == logging.DEBUG for r in caplog.records)
    assert "Calling API Route Handler" not in written  # the line that holds the route's arguments is dropped
    assert token not in written, "a link token in powertools' DEBUG lines"
    assert session["session_token"] not in written, "a session token in powertools' DEBUG lines"


def test_a_retryable_invite_without_email_stores_no_token(api):
    token = token_of(_with_key(api, {"email": "ada@example.com", "delivery": "none"}, "k-1").body["magic_link_url"])

    stored = json.dumps(table_items())

    assert "IDEMPOTENCY#invite" in stored  # the record is there
    assert token not in stored


def test_log_lines_carry_the_api_request_id_and_cold_start(api, monkeypatch):
    from magiclink.observability import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    api.invite()
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith('{"level"')]
    issued = next(line for line in lines if line["message"] == "invite issued")
    assert issued["correlation_id"] == "example-invite"  # requestContext.requestId of events/invite.json
    assert "cold_start" in issued and issued["service"] == "magiclink"
    assert issued["user_id"].startswith("user-test-") and issued["grant_id"].startswith("grant-test-")
