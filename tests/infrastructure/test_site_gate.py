"""edge/gate.js, the private site's CloudFront Function: node's test runner over tests/edge/ (so `make test`
runs it with everything else), and a cookie signed by magiclink.sitecookie checked by the gate under node,
which proves that the Python that signs and the JavaScript that verifies agree on the format."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from local.cfn import ROOT
from magiclink import keyring, sitecookie

SESSION = "session-test-0b7a1c52-1f0e-4c1e-9d55-3b2a1c0d9e8f-s1"


def test_the_node_gate_suite_passes():
    result = subprocess.run(
        ["node", "--test", "--test-reporter=tap", "tests/edge/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    counts = dict(re.findall(r"^# (pass|fail) (\d+)$", result.stdout, re.M))
    assert counts["fail"] == "0" and int(counts["pass"]) > 0, result.stdout


def _gate(requests: list[tuple[str, dict[str, str]]]) -> list[dict]:
    """What the gate answers for each (cookie, KeyValueStore) given, through edge/harness.mjs's worker mode."""
    lines = [
        json.dumps(
            {
                "id": n,
                "event": {
                    "version": "1.0",
                    "request": {
                        "method": "GET",
                        "uri": "/guide",
                        "querystring": {},
                        "headers": {},
                        "cookies": {"__Host-ml_site": {"value": cookie}},
                    },
                },
                "kvs": kvs,
            }
        )
        for n, (cookie, kvs) in enumerate(requests)
    ]
    result = subprocess.run(
        ["node", "edge/harness.mjs", "--serve"],
        cwd=ROOT,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == list(range(len(requests))), result.stderr
    return [a["result"] for a in answers]


@pytest.fixture
def token_keys(monkeypatch):
    """The token keys sitecookie derives its keys from: set them with `keys[:] = [...]`."""
    keys = [b"current-token-key-for-the-site-gate-test", b"previous-token-key-for-the-site-gate-test"]
    monkeypatch.setattr(keyring, "token_keys", lambda: keys)
    return keys


def _store() -> dict[str, str]:
    return {f"{sitecookie.KEY_PREFIX}{kid}": value for kid, value in sitecookie.site_keys()}


def test_a_cookie_python_signs_the_gate_lets_through_and_refuses_tampered(token_keys):
    now = int(time.time())
    cookie = sitecookie.sign(SESSION, now=now)
    store = _store()
    assert len(store) == 2
    tampered = cookie.replace(f".{now + sitecookie.SITE_COOKIE_SECONDS}.", f".{now + 3600}.")
    assert tampered != cookie

    valid, refused = _gate([(cookie, store), (tampered, store)])

    assert valid["uri"] == "/guide/index.html"
    assert "statusCode" not in valid
    assert refused["statusCode"] == 302
    assert refused["headers"]["location"]["value"] == "/access?next=%2Fguide"


def test_python_and_the_gate_agree_on_expiry_and_on_rotation(token_keys):
    now = int(time.time())
    expired = sitecookie.sign(SESSION, now=now - 120)
    old = sitecookie.sign(SESSION, now=now)  # signed under what becomes the previous key
    old_store = _store()
    token_keys[:] = [b"the-new-current-token-key-after-rotation", token_keys[0]]  # rotated
    rotated = _store()
    token_keys[:] = token_keys[:1]  # the previous key retired
    retired = _store()
    assert sitecookie.verify(old, now=now) is None  # Python refuses it now; so must the gate

    to_refresh, still_valid, refused = _gate([(expired, old_store), (old, rotated), (old, retired)])

    assert to_refresh["headers"]["location"]["value"] == "/_site/refresh?next=%2Fguide"
    assert still_valid["uri"] == "/guide/index.html"
    assert refused["headers"]["location"]["value"] == "/access?next=%2Fguide"
