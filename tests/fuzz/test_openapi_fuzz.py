"""Schemathesis against `make run`'s server, from the server's own /openapi.json: requests generated from
the document's schemas (valid ones, and ones that break them) never get a 5xx, and every answer is one
the document declares: its status, content type, headers and body."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import LocalServer

from local import stack

MIN_REQUESTS = 500
PER_OPERATION = 50  # 20 operations today: 1000 requests, about 70 s
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def base():
    server = LocalServer.start()
    yield server.base
    server.stop()


def test_generated_requests_get_no_5xx_and_only_declared_answers(base):
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) * PER_OPERATION >= MIN_REQUESTS
    answers: Counter[tuple[str, int]] = Counter()
    session = requests.Session()
    session.auth = stack.credentials()
    started = time.monotonic()

    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @given(case=cases)
        @settings(
            max_examples=PER_OPERATION,
            derandomize=True,  # the same requests on every run: CI fails on a change, never on luck
            database=None,
            deadline=5000,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            print_blob=False,
        )
        def call(case):
            response = case.call_and_validate(session=session, checks=CHECKS, timeout=10)
            answers[case.operation.label, response.status_code] += 1

        call()

    print(f"{answers.total()} requests in {time.monotonic() - started:.0f} s:", dict(sorted(answers.items())))
    assert answers.total() >= MIN_REQUESTS
    assert {label for label, _ in answers} == {operation.label for operation in operations}
    # The credentials were sent (or every answer could be a 401, and the run would prove little)
    assert answers["GET /v1/readers", 200]
