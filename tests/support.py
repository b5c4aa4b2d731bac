"""Helpers the tests share: events from events/, a caller for the functions, and readers of moto's state."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import boto3
import pytest
from stytch.core.response_base import StytchError

from local import stack
from local.cfn import ROOT

EVENTS = ROOT / "events"


@dataclass
class Reply:
    status: int
    body: Any  # the decoded JSON, or the text of an HTML page
    headers: dict
    cookies: list[str] = field(default_factory=list)  # the v2 payload's Set-Cookie values


def event(
    name: str,
    body: object = None,
    *,
    raw_body: str | None = None,
    auth: str | None = None,
    path: str | None = None,
    query: dict[str, str] | None = None,
) -> dict:
    """events/<name>.json with its body, Authorization, path or query replaced where asked."""
    loaded = copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))
    if body is not None:
        loaded["body"] = json.dumps(body)
    if raw_body is not None:
        loaded["body"] = raw_body
    if auth is not None:
        loaded["headers"]["authorization"] = auth
    if path is not None:
        loaded["rawPath"] = loaded["requestContext"]["http"]["path"] = path
    if query is not None:
        loaded["queryStringParameters"] = query
        loaded["rawQueryString"] = urlencode(query)
    return loaded


class Api:
    """Sends an event to the function whose template route serves it, like API Gateway, and decodes the answer."""

    def __init__(self, functions: stack.Functions):
        self.functions = functions

    def deliver(self, sent: dict) -> Reply:
        matched = self.functions.match(sent["requestContext"]["http"]["method"], sent["rawPath"])
        assert matched, f"no route for {sent['rawPath']}"
        response = self.functions.invoke(matched[0], sent)
        headers = response.get("headers") or {}
        text = response.get("body") or ""
        body = json.loads(text) if headers.get("Content-Type", "").startswith("application/json") else text
        return Reply(response["statusCode"], body, headers, response.get("cookies") or [])

    def send(self, name: str, body: object = None, **kwargs) -> Reply:
        return self.deliver(event(name, body, **kwargs))

    def invite(self, email: str = "ada@example.com", **fields) -> Reply:
        return self.send("invite", {"email": email, **fields})

    def authenticate(self, token: str, **fields) -> Reply:
        return self.send("authenticate", {"token": token, **fields})

    def revoke(self, email: str = "ada@example.com") -> Reply:
        return self.send("revoke_invite", {"email": email})

    def readers(self, **query: str) -> Reply:
        return self.send("readers_list", query=query)

    def revoke_access(self, email: str) -> Reply:
        return self.send("readers_revoke", path=f"/v1/readers/{quote(email)}")

    def new_link(self, email: str, **fields) -> Reply:
        return self.send("readers_new_link", fields, path=f"/v1/readers/{quote(email)}/links")

    def deactivate(self, email: str) -> Reply:
        return self.send("readers_deactivate_link", path=f"/v1/readers/{quote(email)}/links/deactivate")

    def request_link(self, email: str, **fields) -> Reply:
        return self.send("request_link", {"email": email, **fields})


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def last_token(outbox: stack.Outbox) -> str:
    return token_of(outbox.messages()[-1].links[0])


def table_items() -> list[dict]:
    """Everything in the table (tests only: the service itself never scans)."""
    client = boto3.client("dynamodb")
    return client.scan(TableName=stack.local_names()["Table"])["Items"]


def basic(project_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{project_id}:{secret}".encode()).decode()


def request(method: str, url: str, body: object = None, auth: bool = True) -> tuple[int, Any]:
    """An HTTP request to a running local stack, with the dev credentials unless auth=False."""
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = stack.basic_auth_header()
    sent = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            raw = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, json.loads(raw) if "json" in kind else raw.decode()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class LocalServer:
    """`make run`'s server (python -m local.server) as a separate process on a free port, and its private
    site's distribution on another (`site`).

    Its output goes to a file, not a pipe: a pipe nobody reads fills up and stops the server mid-request.
    """

    def __init__(self, base: str, process, log, site: str = ""):
        self.base = base
        self.process = process
        self.log = log
        self.site = site

    @classmethod
    def start(cls, env: dict[str, str] | None = None) -> LocalServer:
        """Started with `env` added to its environment (MAGICLINK_PARAMETER_OVERRIDES, for example)."""
        import os
        import subprocess
        import sys
        import tempfile
        import time

        from local.server import free_port

        port, site_port = free_port(), free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAGICLINK_"))}
        log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by stop()
        process = subprocess.Popen(
            [sys.executable, "-m", "local.server"],
            cwd=ROOT,
            env=clean | (env or {}) | {"PORT": str(port), "SITE_PORT": str(site_port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        server = cls(f"http://127.0.0.1:{port}", process, log, f"http://127.0.0.1:{site_port}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if request("GET", f"{server.base}/_local/health", auth=False)[0] == 200:
                    return server
            except OSError:
                time.sleep(0.2)
        server.stop()
        raise RuntimeError("local stack did not become healthy: " + server.output())

    def output(self) -> str:
        """Everything the server has printed so far."""
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


def reset_caches() -> None:
    """Each test is a fresh container: settings, cached secrets and clients are rebuilt."""
    from magiclink import credentials, mailer, sessions, settings, signing, store

    settings.get_settings.cache_clear()
    credentials._provider.cache_clear()
    credentials._ssm.cache_clear()
    store.dynamo.client.cache_clear()
    store.dynamo.idempotency_store.cache_clear()
    mailer._client.cache_clear()
    signing._client.cache_clear()
    signing.public_key_der.cache_clear()
    sessions._public_key.cache_clear()


def stytch_error(call) -> tuple[int, str]:
    """What a Stytch SDK call raised: its status and error_type (with the request id and docs URL every error
    carries)."""
    with pytest.raises(StytchError) as raised:
        call()
    details = raised.value.details
    assert details.request_id.startswith("request-id-") and details.error_url
    return details.status_code, details.error_type
