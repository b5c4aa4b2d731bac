"""Fixtures: moto provisioned from template.yaml, the template's functions, and real API Gateway v2 events."""

from __future__ import annotations

import os

import pytest
from moto import mock_aws
from support import Api, LocalServer

from local import stack
from local.cfn import Template
from magiclink import credentials, mailer, sessions, settings, signing, store

TEMPLATE = Template()
BASE_URL = "http://127.0.0.1:3000"

# Lambda sets a function's environment before its code is imported; powertools reads these at import.
os.environ.update(
    {k: v for k, v in stack.function_environment(TEMPLATE, BASE_URL).items() if k.startswith("POWERTOOLS_")}
)


def reset_caches() -> None:
    """Each test is a fresh container: settings, cached secrets and clients are rebuilt."""
    settings.get_settings.cache_clear()
    credentials._provider.cache_clear()
    store.dynamo.client.cache_clear()
    store.dynamo.idempotency_store.cache_clear()
    mailer._client.cache_clear()
    signing._client.cache_clear()
    signing.public_key_der.cache_clear()
    sessions._public_key.cache_clear()


@pytest.fixture(autouse=True)
def _links_a_second_apart_not_required(request, monkeypatch):
    """Most tests issue several links to one email within a second; the one-a-second limit is tested on
    its own, by the tests that ask for `rate_limits`."""
    from magiclink import limits  # imported here: Logger and Metrics read POWERTOOLS_* (set above) at import

    if "rate_limits" not in request.fixturenames:
        monkeypatch.setattr(limits, "EMAIL_SPACING", 0)


@pytest.fixture
def rate_limits(aws):
    """The deployment's rate limits exactly as shipped, the one-a-second limit included."""
    from magiclink import limits

    return limits


@pytest.fixture
def aws(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("AWS_ENDPOINT_URL", "MAGICLINK_")):
            monkeypatch.delenv(key)
    for key, value in stack.aws_environment(None).items():
        monkeypatch.setenv(key, value)
    for key, value in stack.function_environment(TEMPLATE, BASE_URL).items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        reset_caches()
        stack.provision(TEMPLATE)
        yield
    reset_caches()


@pytest.fixture(scope="module")
def server():
    """`make run`'s server as a process of its own, for a module's tests: (base URL, process)."""
    stack = LocalServer.start()
    yield stack.base, stack.process
    stack.stop()


@pytest.fixture(scope="session")
def functions():
    return stack.Functions(TEMPLATE)


@pytest.fixture
def api(aws, functions) -> Api:
    return Api(functions)


@pytest.fixture
def outbox(aws) -> stack.Outbox:
    return stack.Outbox()


@pytest.fixture
def clock(monkeypatch):
    """Moves the service's clock: clock.advance(seconds); clock.freeze(at) stops it at `at` (epoch seconds)."""
    from magiclink import clock

    class Clock:
        offset = 0
        frozen: int | None = None

        def advance(self, seconds: int) -> None:
            self.offset += seconds

        def freeze(self, at: int) -> None:
            self.frozen, self.offset = at, 0

    c = Clock()
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: (real() if c.frozen is None else c.frozen) + c.offset)
    return c


@pytest.fixture
def configure(monkeypatch):
    """Set deployment settings (environment variables) for one test: configure(NOTIFY_OWNER="true", ...)."""

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings.get_settings.cache_clear()

    yield apply
    settings.get_settings.cache_clear()


@pytest.fixture
def aws_calls():
    """Counts the AWS API calls made while the test runs: aws_calls[("dynamodb", "Query")]."""
    from collections import Counter

    import boto3

    counts: Counter = Counter()

    def count(event_name: str, **_):
        _, service, operation = event_name.split(".")[:3]
        counts[(service, operation)] += 1

    session = boto3._get_default_session()
    session.events.register("before-call.*.*", count)
    yield counts
    session.events.unregister("before-call.*.*", count)
