"""The admin console: magic-link sign-in for admins only, a strict session cookie, CSRF on every change."""

from __future__ import annotations

import http.server
import json
import re
import threading
from urllib.parse import urlencode, urlsplit

import pytest
from support import event, last_token

from local.stack import LambdaContext


def _call(api, method: str, path: str, *, cookie: str | None = None, csrf: str | None = None, body=None, form=None):
    sent = event("console_api" if path.startswith("/console/") else "console")
    sent["rawPath"] = sent["requestContext"]["http"]["path"] = urlsplit(path).path
    sent["requestContext"]["http"]["method"] = method
    query = urlsplit(path).query
    sent["rawQueryString"] = query
    sent["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&")) if query else None
    sent["headers"].pop("cookie", None)
    sent.pop("cookies", None)
    if cookie:
        sent["headers"]["cookie"] = f"ml_console={cookie}"
        sent["cookies"] = [f"ml_console={cookie}"]
    if csrf:
        sent["headers"]["x-csrf-token"] = csrf
    if body is not None:
        sent["body"] = json.dumps(body)
        sent["headers"]["content-type"] = "application/json"
    if form is not None:
        sent["body"] = urlencode(form)
        sent["headers"]["content-type"] = "application/x-www-form-urlencoded"
    response = api.functions.invoke("ConsoleFunction", sent)
    return response


def _json(response) -> dict:
    return json.loads(response["body"])


def _sign_in(api, outbox, email: str = "admin@example.com", role: str = "admin") -> tuple[str, str]:
    """Invite (as the API would), follow the emailed link to the console callback; (cookie value, csrf)."""
    api.invite(email, role=role, invite_magic_link_url="http://127.0.0.1:3000/console/callback")
    token = last_token(outbox)
    response = _call(api, "GET", f"/console/callback?token={token}")
    if response["statusCode"] != 303:
        return "", ""
    cookie = response["cookies"][0]
    value = cookie.split(";")[0].split("=", 1)[1]
    page = _call(api, "GET", "/console", cookie=value)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page["body"]).group(1)
    return value, csrf


def test_an_admin_signs_in_by_magic_link_and_gets_a_strict_cookie(api, outbox):
    api.invite("admin@example.com", role="admin", invite_magic_link_url="http://127.0.0.1:3000/console/callback")
    token = last_token(outbox)

    response = _call(api, "GET", f"/console/callback?token={token}")

    assert response["statusCode"] == 303 and response["headers"]["Location"] == "/console"
    cookie = response["cookies"][0]
    assert cookie.startswith("ml_console=")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/console"):
        assert flag in cookie
    assert "Secure" not in cookie  # the local stack is plain HTTP; on HTTPS the cookie is Secure

    value = cookie.split(";")[0].split("=", 1)[1]
    page = _call(api, "GET", "/console", cookie=value)
    assert page["statusCode"] == 200 and 'src="/console/static/console.js"' in page["body"]
    csp = page["headers"]["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page["headers"]["X-Frame-Options"] == "DENY" and page["headers"]["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in page["body"]  # no inline script


def test_the_cookie_is_secure_on_https(api, outbox, configure):
    configure(PUBLIC_BASE_URL="https://docs.example.com", REDIRECT_URLS="https://docs.example.com/auth")
    api.invite("admin@example.com", role="admin", invite_magic_link_url="https://docs.example.com/console/callback")
    response = _call(api, "GET", f"/console/callback?token={last_token(outbox)}")
    assert "Secure" in response["cookies"][0]


def test_no_session_gets_the_sign_in_form_and_the_api_401(api):
    page = _call(api, "GET", "/console")
    assert page["statusCode"] == 200 and 'action="/console/sign-in"' in page["body"]
    assert _call(api, "GET", "/console/api/readers")["statusCode"] == 401


def test_a_non_admin_session_is_refused(api, outbox):
    cookie, _ = _sign_in(api, outbox, "reader@example.com", role="reader")
    assert cookie == ""
    api.invite("reader@example.com", role="reader", invite_magic_link_url="http://127.0.0.1:3000/console/callback")
    response = _call(api, "GET", f"/console/callback?token={last_token(outbox)}")
    assert response["statusCode"] == 403


def test_changes_need_the_csrf_token(api, outbox):
    cookie, csrf = _sign_in(api, outbox)
    grant = {"email": "ada@example.com", "delivery": "none"}

    for bad in (None, "", "0" * 40, csrf[:-1] + ("0" if csrf[-1] != "0" else "1")):
        refused = _call(api, "POST", "/console/api/readers", cookie=cookie, csrf=bad, body=grant)
        assert refused["statusCode"] == 403 and _json(refused)["error_type"] == "invalid_csrf_token"
    listed = _json(_call(api, "GET", "/console/api/readers", cookie=cookie))["readers"]
    assert [r["email"] for r in listed] == ["admin@example.com"]  # nothing changed

    done = _call(api, "POST", "/console/api/readers", cookie=cookie, csrf=csrf, body=grant)
    assert done["statusCode"] == 200
    body = _json(done)
    assert body["reader"]["status"] == "pending" and body["reader"]["invited_by"] == "admin@example.com"
    assert body["magic_link_url"].startswith("http://127.0.0.1:3000/v1/magic_links/redirect?token=")


def test_every_reader_action_through_the_console(api, outbox):
    cookie, csrf = _sign_in(api, outbox)
    _call(api, "POST", "/console/api/readers", cookie=cookie, csrf=csrf, body={"email": "ada@example.com"})

    link = _json(
        _call(
            api,
            "POST",
            "/console/api/readers/ada%40example.com/links",
            cookie=cookie,
            csrf=csrf,
            body={"delivery": "none"},
        )
    )
    assert link["magic_link_url"] and link["reader"]["link_state"] == "active"
    deactivated = _json(
        _call(api, "POST", "/console/api/readers/ada%40example.com/links/deactivate", cookie=cookie, csrf=csrf)
    )
    assert deactivated["reader"]["link_state"] == "deactivated"
    revoked = _json(_call(api, "DELETE", "/console/api/readers/ada%40example.com", cookie=cookie, csrf=csrf))
    assert revoked["reader"]["status"] == "revoked" and revoked["reader"]["revoked_by"] == "admin@example.com"


def test_access_requests_can_be_granted_or_dismissed(api, outbox, clock):
    cookie, csrf = _sign_in(api, outbox)
    api.request_link("one@example.com")
    api.request_link("two@example.com")

    pending = _json(_call(api, "GET", "/console/api/access_requests", cookie=cookie))["requests"]
    assert [r["email"] for r in pending] == ["one@example.com", "two@example.com"]

    granted = _call(api, "POST", "/console/api/access_requests/one%40example.com/grant", cookie=cookie, csrf=csrf)
    assert granted["statusCode"] == 200 and _json(granted)["reader"]["email"] == "one@example.com"
    assert (
        _call(api, "POST", "/console/api/access_requests/two%40example.com/dismiss", cookie=cookie, csrf=csrf)[
            "statusCode"
        ]
        == 200
    )
    assert _json(_call(api, "GET", "/console/api/access_requests", cookie=cookie))["requests"] == []


def test_an_expired_or_signed_out_session_is_back_to_sign_in(api, outbox, clock):
    cookie, csrf = _sign_in(api, outbox)
    signed_out = _call(api, "POST", "/console/sign-out", cookie=cookie, form={"csrf": csrf})
    assert signed_out["statusCode"] == 303 and "Max-Age=0" in signed_out["cookies"][0]
    assert _call(api, "GET", "/console/api/readers", cookie=cookie)["statusCode"] == 401

    cookie, _ = _sign_in(api, outbox, "admin2@example.com")
    clock.advance(8 * 3600 + 1)
    assert _call(api, "GET", "/console/api/readers", cookie=cookie)["statusCode"] == 401
    assert 'action="/console/sign-in"' in _call(api, "GET", "/console", cookie=cookie)["body"]


def test_asking_to_sign_in_tells_nobody_who_is_an_admin(api, outbox, clock):
    api.invite("admin@example.com", role="admin", delivery="none")
    api.invite("reader@example.com", delivery="none")
    clock.advance(61)  # sign-in links are at most one a minute per email

    answers = [
        _call(api, "POST", "/console/sign-in", form={"email": email})["body"]
        for email in ("admin@example.com", "reader@example.com", "nobody@example.com", "not an email")
    ]

    assert len(set(answers)) == 1
    (mail,) = outbox.messages()
    assert mail.to == ["admin@example.com"]


def test_static_assets_are_served_and_nothing_else(api):
    assert _call(api, "GET", "/console/static/console.css")["statusCode"] == 200
    assert _call(api, "GET", "/console/static/../../templates/pages/layout.html")["statusCode"] == 404
    assert _call(api, "GET", "/console/static/secret.txt")["statusCode"] == 404


def test_the_first_admin_is_invited_on_deploy(api, outbox, functions):
    answers: list[dict] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):  # CloudFormation's response URL
            answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfn = {
            "RequestType": "Create",
            "ResponseURL": f"http://127.0.0.1:{server.server_port}/response",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/magiclink/1",
            "RequestId": "r1",
            "LogicalResourceId": "FirstAdmin",
            "ResourceProperties": {"AdminEmail": "owner@example.com"},
        }
        handler = functions.handler("BootstrapFunction")
        handler(cfn, LambdaContext(functions.functions["BootstrapFunction"]))
        handler(dict(cfn, RequestType="Update"), LambdaContext(functions.functions["BootstrapFunction"]))
    finally:
        server.shutdown()

    assert [a["Status"] for a in answers] == ["SUCCESS", "SUCCESS"]
    assert [a["Reason"] for a in answers] == ["invited", "already a reader"]
    (mail,) = outbox.messages()
    assert mail.to == ["owner@example.com"]
    reader = next(r for r in api.readers().body["readers"] if r["email"] == "owner@example.com")
    assert reader["role"] == "admin"


@pytest.mark.parametrize("path", ["/console/api/readers/not-an-email/links/deactivate"])
def test_bad_emails_in_console_paths_are_400(api, outbox, path):
    cookie, csrf = _sign_in(api, outbox)
    assert _call(api, "POST", path, cookie=cookie, csrf=csrf)["statusCode"] == 400


def test_an_admin_sign_in_request_reads_the_email_pointer_once(api, outbox, clock, aws_calls):
    api.invite("admin@example.com", role="admin", delivery="none")
    clock.advance(61)
    aws_calls.clear()

    _call(api, "POST", "/console/sign-in", form={"email": "admin@example.com"})

    dynamodb = {op: n for (service, op), n in aws_calls.items() if service == "dynamodb"}
    # the pointer, the reader, the rate-limit counters, the new link, then its delivery
    assert dynamodb == {"GetItem": 2, "TransactWriteItems": 1, "UpdateItem": 2}
    assert outbox.messages()[-1].to == ["admin@example.com"]


def test_sign_in_requests_count_against_the_rate_limits_and_the_page_still_says_the_same(api, outbox, clock, configure):
    configure(IP_REQUESTS_PER_HOUR="2")
    api.invite("admin@example.com", role="admin", delivery="none")
    clock.advance(61)
    pages = [_call(api, "POST", "/console/sign-in", form={"email": e}) for e in ("x@example.com", "y@example.com")]

    # The third attempt from this address is over the limit: the admin gets no email, the page is unchanged
    last = _call(api, "POST", "/console/sign-in", form={"email": "admin@example.com"})

    assert {p["body"] for p in pages} == {last["body"]} and last["statusCode"] == 200
    assert outbox.messages() == []


def test_anonymous_sign_in_requests_never_hold_back_the_admins_console_actions(api, outbox, configure):
    # Given an admin in the console, a reader allowed 3 links an hour, and anonymous sign-in requests for that email
    configure(EMAIL_LINKS_PER_HOUR="3")
    cookie, csrf = _sign_in(api, outbox)
    api.invite("ada@example.com", delivery="none")
    for _ in range(5):
        _call(api, "POST", "/console/sign-in", form={"email": "ada@example.com"})

    # When the admin re-links the reader in the console
    relinked = _call(
        api, "POST", "/console/api/readers/ada%40example.com/links", cookie=cookie, csrf=csrf, body={"delivery": "none"}
    )

    # Then it is served: the sign-in form counts against the public budgets, not the admins'
    assert relinked["statusCode"] == 200, relinked["body"]
