"""Helpers the tests share: events from events/, a caller for the functions, and readers of moto's state."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import boto3

from local import stack
from local.cfn import ROOT

EVENTS = ROOT / "events"


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict


def event(name: str, body: object = None, *, raw_body: str | None = None, auth: str | None = None) -> dict:
    """events/<name>.json with its body (and Authorization) replaced where asked."""
    loaded = json.loads((EVENTS / f"{name}.json").read_text())
    loaded = copy.deepcopy(loaded)
    if body is not None:
        loaded["body"] = json.dumps(body)
    if raw_body is not None:
        loaded["body"] = raw_body
    if auth is not None:
        loaded["headers"]["authorization"] = auth
    return loaded


class Api:
    """Calls a function's lambda_handler with an event, like API Gateway, and decodes the answer."""

    ROUTES = {
        "invite": "InviteFunction",
        "authenticate": "AuthenticateFunction",
        "revoke_invite": "RevokeFunction",
    }

    def __init__(self, functions: stack.Functions):
        self.functions = functions

    def send(self, name: str, body: object = None, **kwargs) -> Reply:
        response = self.functions.invoke(self.ROUTES[name], event(name, body, **kwargs))
        return Reply(response["statusCode"], json.loads(response["body"]), response.get("headers") or {})

    def invite(self, email: str = "ada@example.com", **fields) -> Reply:
        return self.send("invite", {"email": email, **fields})

    def authenticate(self, token: str, **fields) -> Reply:
        return self.send("authenticate", {"token": token, **fields})

    def revoke(self, email: str = "ada@example.com") -> Reply:
        return self.send("revoke_invite", {"email": email})


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
