"""Stytch's own Node SDK against `make run`'s server: node's test runner over tests/sdk/node/*.test.mjs, with
the servers' URLs in the environment, so `make test` runs the Node suites with everything else."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from support import LocalServer

from local import stack
from local.cfn import ROOT


@pytest.fixture(scope="module")
def open_server():
    """A server deployed with SignupPolicy open."""
    own = LocalServer.start(env={"MAGICLINK_SIGNUP_POLICY": "open"})
    yield own.base
    own.stop()


def test_the_node_sdk_suites_pass(server, open_server):
    base, _ = server
    project_id, secret = stack.credentials()
    env = os.environ | {
        "MAGICLINK_BASE_URL": base,
        "MAGICLINK_OPEN_BASE_URL": open_server,
        "MAGICLINK_PROJECT_ID": project_id,
        "MAGICLINK_SECRET": secret,
    }
    result = subprocess.run(
        ["node", "--test", "--test-reporter=tap", "tests/sdk/node/"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    counts = dict(re.findall(r"^# (pass|fail) (\d+)$", result.stdout, re.M))
    assert counts["fail"] == "0" and int(counts["pass"]) > 0, result.stdout
