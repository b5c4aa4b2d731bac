"""A cold start loads what the function's routes use and no more: each handler is imported in a fresh
interpreter, as Lambda imports it, and what it loaded is checked (docs/benchmarks.md has the costs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache

import pytest

from local import stack
from local.cfn import ROOT, Template

TEMPLATE = Template()
LAYER = ROOT / "layers" / "magiclink"
# What no function needs at import: JWT code (sessions sign and verify lazily), the templates' engine (mail is
# rendered when sent), and the asyncio that powertools' other resolvers (AppSync) would bring.
NEVER_AT_IMPORT = {"jwt", "cryptography", "jinja2", "asyncio", "aws_lambda_powertools.event_handler.appsync"}
MAIL = {"magiclink.mailer", "magiclink.delivery", "email.headerregistry"}
SESSIONS = {"magiclink.sessions"}
LIMITS = {"magiclink.limits"}


@cache
def _import(function: str) -> dict:
    """Import the function's handler in a fresh interpreter; the modules then loaded, and which wire models
    had their validators built."""
    code = """
import json, sys
import app
from pydantic import BaseModel
from magiclink.models import requests, responses
built = sorted(
    name
    for module in (requests, responses)
    for name, value in vars(module).items()
    if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__
    and value.__pydantic_complete__
)
print(json.dumps({"modules": sorted(sys.modules), "built": built}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAGICLINK_", "POWERTOOLS_"))}
    env |= stack.aws_environment(None) | stack.function_environment(TEMPLATE, "http://127.0.0.1:3000")
    env["PYTHONPATH"] = os.pathsep.join([str(TEMPLATE.functions()[function].code_uri), str(LAYER)])
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("function", "absent"),
    [
        ("RevokeFunction", NEVER_AT_IMPORT | MAIL | SESSIONS | LIMITS),
        ("AuthenticateFunction", NEVER_AT_IMPORT | MAIL | LIMITS),
        ("InviteFunction", NEVER_AT_IMPORT | SESSIONS),
        ("SessionsFunction", NEVER_AT_IMPORT | MAIL | LIMITS),
        ("JwksFunction", NEVER_AT_IMPORT | MAIL | LIMITS),
        (
            "CleanupFunction",
            NEVER_AT_IMPORT | MAIL | SESSIONS | LIMITS | {"aws_lambda_powertools.event_handler.api_gateway"},
        ),
    ],
)
def test_a_function_imports_only_what_its_routes_use(function, absent):
    loaded = set(_import(function)["modules"])
    assert loaded & absent == set()


def test_no_wire_model_is_built_at_import_only_when_first_used():
    # Each model's validator costs its build at a cold start: a function builds those it uses, when it uses them.
    for function in ("InviteFunction", "AuthenticateFunction", "RevokeFunction"):
        assert _import(function)["built"] == ["ConsoleName"], function  # a field's default, made at import


def test_no_function_searches_the_installed_packages_for_pydantic_plugins():
    # Without it pydantic reads the entry points of every package on sys.path when it builds its first model.
    assert stack.function_environment(TEMPLATE, "http://127.0.0.1:3000")["PYDANTIC_DISABLE_PLUGINS"] == "__all__"


def test_powertools_event_handler_entered_without_its_init_still_has_every_name():
    # What the layer skips loads when something asks for it: the package behaves as if whole.
    code = """
import sys
import magiclink
import aws_lambda_powertools.event_handler as package
from aws_lambda_powertools.event_handler.api_gateway import Response
assert "asyncio" not in sys.modules
assert package.Response is Response
from aws_lambda_powertools.event_handler import AppSyncResolver
assert "asyncio" in sys.modules and "AppSyncResolver" in package.__all__
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))} | {
        "PYTHONPATH": str(LAYER)
    }
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, timeout=60, check=True)
