"""`make run`'s server as a separate process: the README's curl session, the outbox, and a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from local.cfn import ROOT
from local.server import free_port
from local.stack import basic_auth_header


def _request(method: str, url: str, body: object = None, auth: bool = True) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = basic_auth_header()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, json.loads(raw) if "json" in kind else raw.decode()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAGICLINK_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.server"],
        cwd=ROOT,
        env=env | {"PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if _request("GET", f"{base}/_local/health", auth=False)[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("local stack did not become healthy: " + (process.stdout.read() if process.stdout else ""))
    yield base, process
    if process.poll() is None:
        process.kill()


def test_the_readme_session_invite_outbox_authenticate_revoke(server):
    base, _ = server
    assert _request("DELETE", f"{base}/_local/outbox.json", auth=False) == (200, [])

    status, invited = _request("POST", f"{base}/v1/magic_links/email/invite", {"email": "ada@example.com"})
    assert status == 200 and invited["user_id"].startswith("user-test-")

    status, outbox = _request("GET", f"{base}/_local/outbox.json", auth=False)
    (mail,) = outbox
    assert set(mail) >= {"to", "from", "subject", "html", "text", "links", "sent_at"}
    assert mail["to"] == ["ada@example.com"]
    link = mail["links"][0]
    assert link.startswith(f"{base}/v1/magic_links/redirect?token=")
    token = parse_qs(urlsplit(link).query)["token"][0]

    # The link opens the landing page, which spends nothing however often it is opened
    for _ in range(3):
        status, page = _request("GET", link, auth=False)
        assert status == 200 and "Continue" in page

    status, body = _request("POST", f"{base}/v1/magic_links/authenticate", {"token": token})
    assert status == 200 and body["user"]["status"] == "active"
    status, body = _request("POST", f"{base}/v1/magic_links/authenticate", {"token": token})
    assert status == 401 and body["error_type"] == "unable_to_auth_magic_link"

    # A revoked invite's link fails
    _request("POST", f"{base}/v1/magic_links/email/invite", {"email": "bob@example.com"})
    bob_link = _request("GET", f"{base}/_local/outbox.json", auth=False)[1][-1]["links"][0]
    assert _request("POST", f"{base}/v1/magic_links/email/revoke_invite", {"email": "bob@example.com"})[0] == 200
    bob_token = parse_qs(urlsplit(bob_link).query)["token"][0]
    assert _request("POST", f"{base}/v1/magic_links/authenticate", {"token": bob_token})[0] == 401

    assert len(_request("GET", f"{base}/_local/outbox.json", auth=False)[1]) == 2
    assert _request("DELETE", f"{base}/_local/outbox.json", auth=False) == (200, [])
    assert _request("GET", f"{base}/_local/outbox.json", auth=False) == (200, [])


def test_unknown_routes_get_api_gateways_answer(server):
    base, _ = server
    assert _request("GET", f"{base}/v1/nothing/here")[0] == 404


def test_make_invoke_runs_an_event_against_the_running_stack(server):
    base, _ = server
    port = urlsplit(base).port
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAGICLINK_"))}
    result = subprocess.run(
        ["make", "-s", "invoke", "FUNCTION=InviteFunction", "EVENT=events/invite.json", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    response = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert response["statusCode"] == 200
    outbox = _request("GET", f"{base}/_local/outbox.json", auth=False)[1]
    assert outbox[-1]["to"] == ["ada@example.com"]


def test_ctrl_c_stops_it_cleanly(server):
    _, process = server
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "Stopped." in output
