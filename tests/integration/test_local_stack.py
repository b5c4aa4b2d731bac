"""`make run`'s server as a separate process: the README's curl session, the outbox, and a clean stop."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from support import LocalServer
from support import request as _request

from local import stack
from local.cfn import ROOT


def test_the_readme_session_invite_outbox_authenticate_revoke(server):
    base, _ = server
    assert _request("DELETE", f"{base}/_local/outbox.json", auth=False) == (200, [])

    status, invited = _request("POST", f"{base}/v1/magic_links/email/invite", {"email": "ada@example.com"})
    assert status == 200 and invited["user_id"].startswith("user-test-")

    status, outbox = _request("GET", f"{base}/_local/outbox.json", auth=False)
    (mail,) = outbox
    assert set(mail) >= {"to", "from", "subject", "html", "text", "links", "codes", "sent_at"}
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

    # Every email also carries a code, which signs in instead of the link
    time.sleep(1.1)  # links for one email: at most one a second
    status, sent = _request("POST", f"{base}/v1/otps/email/send", {"email": "ada@example.com"})
    assert status == 200, sent
    code = _request("GET", f"{base}/_local/outbox.json", auth=False)[1][-1]["codes"][0]
    status, body = _request("POST", f"{base}/v1/otps/authenticate", {"method_id": sent["email_id"], "code": code})
    assert status == 200 and body["user_id"] == invited["user_id"]

    # A revoked invite's link fails
    _request("POST", f"{base}/v1/magic_links/email/invite", {"email": "bob@example.com"})
    bob_link = _request("GET", f"{base}/_local/outbox.json", auth=False)[1][-1]["links"][0]
    assert _request("POST", f"{base}/v1/magic_links/email/revoke_invite", {"email": "bob@example.com"})[0] == 200
    bob_token = parse_qs(urlsplit(bob_link).query)["token"][0]
    assert _request("POST", f"{base}/v1/magic_links/authenticate", {"token": bob_token})[0] == 401

    assert len(_request("GET", f"{base}/_local/outbox.json", auth=False)[1]) == 3
    assert _request("DELETE", f"{base}/_local/outbox.json", auth=False) == (200, [])
    assert _request("GET", f"{base}/_local/outbox.json", auth=False) == (200, [])


def test_unknown_routes_get_the_default_routes_stytch_404(server):
    base, _ = server
    status, body = _request("GET", f"{base}/v1/nothing/here")
    assert status == 404 and body["error_type"] == "route_not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [("TRACE", "/v1/readers"), ("PATCH", "/v1/readers"), ("PUT", "/v1/magic_links/email/invite"), ("PROPFIND", "/")],
)
def test_a_method_no_route_takes_gets_the_default_routes_404_not_a_501_page(server, method, path):
    """API Gateway HTTP APIs send a request no route matches, whatever its method, to the `$default` route
    (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html, "Routing API requests"):
    here functions/fallback, which answers Stytch's 404 JSON."""
    base, _ = server
    connection = http.client.HTTPConnection(urlsplit(base).hostname, urlsplit(base).port, timeout=10)
    connection.request(method, path, headers={"Authorization": stack.basic_auth_header()})
    response = connection.getresponse()
    assert (response.status, response.getheader("Content-Type")) == (404, "application/json")
    assert json.loads(response.read())["error_type"] == "route_not_found"
    connection.close()


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


def test_it_serves_the_openapi_document_and_swagger_ui_over_it_offline(server):
    base, _ = server
    status, document = _request("GET", f"{base}/openapi.json", auth=False)
    assert status == 200 and document["openapi"] == "3.1.0"
    assert document["paths"]["/v1/magic_links/email/invite"]["post"]["security"] == [{"basicAuth": []}]

    status, page = _request("GET", f"{base}/docs", auth=False)
    assert status == 200 and "SwaggerUIBundle" in page
    assert '"/v1/magic_links/email/invite"' in page  # the document is in the page
    assets = re.findall(r"(?:src|href)='(/docs/[^']+)'", page)  # Swagger UI's script and styles, served here
    assert len(assets) == 2
    for asset in assets:
        assert _request("GET", f"{base}{asset}", auth=False)[0] == 200


def test_ctrl_c_stops_it_cleanly():
    own = LocalServer.start()
    own.process.send_signal(signal.SIGINT)
    assert own.process.wait(timeout=15) == 0
    assert "Stopped." in own.output()
    own.stop()


def test_the_api_docs_jwt_verifier_works_as_written(server):
    base, _ = server
    readme = (ROOT / "docs" / "api.md").read_text()
    snippet = re.search(r"<!-- verify-jwt -->\n```python\n(.*?)```", readme, re.S).group(1)
    invite = {"email": "jwt@example.com", "delivery": "none"}
    _, invited = _request("POST", f"{base}/v1/magic_links/email/invite", invite)
    token = parse_qs(urlsplit(invited["magic_link_url"]).query)["token"][0]
    _, body = _request("POST", f"{base}/v1/magic_links/authenticate", {"token": token, "session_duration_minutes": 30})

    namespace: dict = {}
    exec(snippet.replace("http://127.0.0.1:3000", base), namespace)
    claims = namespace["verify"](body["session_jwt"])

    assert claims["sub"] == body["user_id"]
    status, _ = _request("POST", f"{base}/v1/sessions/revoke", {"session_jwt": body["session_jwt"]})
    assert status == 200
    status, refused = _request("POST", f"{base}/v1/sessions/authenticate", {"session_jwt": body["session_jwt"]})
    assert status == 404 and refused["error_type"] == "session_not_found"


def test_a_link_opened_by_curl_ten_times_still_works(server):
    base, _ = server
    _request("POST", f"{base}/v1/magic_links/email/invite", {"email": "curl@example.com"})
    link = _request("GET", f"{base}/_local/outbox.json", auth=False)[1][-1]["links"][0]
    for _ in range(10):
        subprocess.run(["curl", "-s", "-o", "/dev/null", link], check=True, timeout=10)
        subprocess.run(["curl", "-s", "-I", "-o", "/dev/null", link], check=True, timeout=10)

    token = parse_qs(urlsplit(link).query)["token"][0]
    status, body = _request("POST", f"{base}/v1/magic_links/authenticate", {"token": token})
    assert status == 200 and body["user"]["emails"][0]["email"] == "curl@example.com"
