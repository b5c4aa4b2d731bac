"""Fixtures: moto provisioned from template.yaml, the template's functions, and real API Gateway v2 events."""

from __future__ import annotations

import os
import time
from pathlib import Path

import aws_limits
import botocore.session
import iam_record
import pytest
from aws_limits import strict_aws  # noqa: F401 - the autouse fixture that fails a call AWS would refuse
from moto import mock_aws
from support import Api, LocalServer, reset_caches

from local import stack
from local.cfn import Template
from magiclink import credentials, sessions, settings, signing

pytest_plugins = ["pytester"]  # tests/unit/test_aws_limits.py runs a test of its own

TEMPLATE = Template()
BASE_URL = "http://127.0.0.1:3000"
INTEGRATION = Path(__file__).parent / "integration"


def _hooked(create_client):
    """botocore's create_client, giving every client the AWS limit checks and the IAM recorder."""

    def create(self, *args, **kwargs):
        client = create_client(self, *args, **kwargs)
        aws_limits.install(client)
        iam_record.install(client)
        return client

    return create


# Every client the tests or the code make, boto3's and powertools' alike, is made here.
botocore.session.Session.create_client = _hooked(botocore.session.Session.create_client)

# Lambda sets a function's environment before its code is imported; powertools reads these at import.
os.environ.update(
    {k: v for k, v in stack.function_environment(TEMPLATE, BASE_URL).items() if k.startswith("POWERTOOLS_")}
)


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


class Containers(stack.Functions):
    """The template's functions as Lambda runs them, each in containers of its own: what one function fetched
    (secrets, public keys) is not cached for another, and every AWS call is recorded as its function's
    (tests/iam_record.py), so that the record holds every call each function needs."""

    warm: str | None = None

    def handler(self, logical_id: str):
        handle = super().handler(logical_id)

        def run(event, context):
            if self.warm != logical_id:
                credentials._provider().clear_cache()
                signing.public_key_der.cache_clear()
                sessions._public_key.cache_clear()
                self.warm = logical_id
            with iam_record.running(logical_id):
                return handle(event, context)

        return run


@pytest.fixture(scope="module")
def server():
    """`make run`'s server as a process of its own, for a module's tests: (base URL, process)."""
    stack = LocalServer.start()
    yield stack.base, stack.process
    stack.stop()


@pytest.fixture(scope="module")
def site_server():
    """`make run`'s server with its private site, whose clock the tests may move (POST /_local/clock)."""
    stack = LocalServer.start({"MAGICLINK_LOCAL_CLOCK": "1"})
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def functions():
    return Containers(TEMPLATE)


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

        def advance(self, seconds: float) -> None:
            self.offset += seconds

        def freeze(self, at: float) -> None:
            self.frozen, self.offset = at, 0

    c = Clock()
    real_ms = clock.now_ms

    def now_ms() -> int:
        return (real_ms() if c.frozen is None else int(c.frozen * 1000)) + int(c.offset * 1000)

    monkeypatch.setattr(clock, "now_ms", now_ms)
    monkeypatch.setattr(clock, "now", lambda: now_ms() // 1000)
    return c


@pytest.fixture
def monotonic(monkeypatch):
    """A monotonic clock that moves only when the service sleeps, and 10 ms a reading: how long an answer
    was held, without waiting for it. `monotonic.now` is its time; `monotonic.spend(s)` moves it."""

    class Monotonic:
        now = 0.0

        def read(self) -> float:
            self.now += 0.01
            return self.now

        def spend(self, seconds: float) -> None:
            self.now += seconds

    m = Monotonic()
    monkeypatch.setattr(time, "monotonic", m.read)
    monkeypatch.setattr(time, "sleep", m.spend)
    return m


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
def mail_settings(configure):
    """What rendering and building an email needs, and no AWS: the settings and a sender."""
    configure(
        TABLE_NAME="t",
        CREDENTIALS_SECRET_ID="c",
        TOKEN_KEY_SECRET_ID="k",
        SENDER_ADDRESS="docs@example.com",
        SENDER_NAME="Example Docs",
    )


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


def pytest_collection_modifyitems(config, items):
    """The tests of the recorded AWS calls run last, once every other test has made its calls. The record is
    complete when the whole of tests/integration runs, nothing deselected (as in `make test`)."""
    items.sort(key=lambda item: "recorded_aws_calls" in item.fixturenames)
    paths = [(config.invocation_params.dir / arg).resolve() for arg in config.args if "::" not in arg]
    config.stash[_WHOLE_INTEGRATION_SUITE] = any(p == INTEGRATION or p in INTEGRATION.parents for p in paths)


def pytest_deselected(items):
    if any(INTEGRATION in Path(item.path).parents for item in items):
        items[0].config.stash[_WHOLE_INTEGRATION_SUITE] = False


_WHOLE_INTEGRATION_SUITE = pytest.StashKey[bool]()


@pytest.fixture
def recorded_aws_calls(pytestconfig):
    """{function: {(IAM action, resource)}} of the calls each function made in this run, and whether the run
    was the whole integration suite (else the record holds only what the tests that ran exercised)."""

    class Recorded:
        calls = iam_record.RECORD
        complete = pytestconfig.stash.get(_WHOLE_INTEGRATION_SUITE, False)

    return Recorded
