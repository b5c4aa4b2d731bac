"""The admin console: magic-link sign-in for admins only, a strict session cookie, CSRF on every change."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import re
import ssl
import threading
import time
import types
from urllib.parse import quote, urlencode, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support import event, last_token, table_items

from local.cfn import Template
from local.stack import Functions, LambdaContext
from magiclink import revocation


def _call(
    api,
    method: str,
    path: str,
    *,
    cookie: str | None = None,
    csrf: str | None = None,
    body=None,
    form=None,
    form_cookie: str | None = None,
):
    sent = event("console_api" if path.startswith("/console/") else "console")
    sent["rawPath"] = sent["requestContext"]["http"]["path"] = urlsplit(path).path
    sent["requestContext"]["http"]["method"] = method
    query = urlsplit(path).query
    sent["rawQueryString"] = query
    sent["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&")) if query else None
    sent["headers"].pop("cookie", None)
    sent.pop("cookies", None)
    jar = [f"{name}={value}" for name, value in (("ml_console", cookie), ("ml_console_form", form_cookie)) if value]
    if jar:
        sent["headers"]["cookie"] = "; ".join(jar)
        sent["cookies"] = jar
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


def _forged(token: str) -> str:
    """`token` with its first character changed: the last one carries padding bits, so changing it can
    leave the decoded signature as it was."""
    return ("B" if token[0] == "A" else "A") + token[1:]


def _sign_in_form(api) -> tuple[str, str]:
    """Open the sign-in page as a browser does: (its form cookie, its form's token)."""
    page = _call(api, "GET", "/console")
    cookie = next(c for c in page["cookies"] if c.startswith("ml_console_form="))
    return cookie.split(";")[0].split("=", 1)[1], re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1)


def _ask_to_sign_in(api, email: str, form: tuple[str, str] | None = None):
    """Send the sign-in form for `email`, as a browser does from the page (`form`: its cookie and token)."""
    nonce, token = form or _sign_in_form(api)
    return _call(api, "POST", "/console/sign-in", form={"email": email, "csrf": token}, form_cookie=nonce)


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

    for bad in (None, "", "0" * 40, _forged(csrf)):
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


def test_asking_to_sign_in_tells_nobody_who_is_an_admin(api, outbox, clock, monotonic):
    api.invite("admin@example.com", role="admin", delivery="none")
    api.invite("reader@example.com", delivery="none")
    clock.advance(61)  # sign-in links are at most one a minute per email
    form = _sign_in_form(api)

    answers = [
        _ask_to_sign_in(api, email, form)["body"]
        for email in ("admin@example.com", "reader@example.com", "nobody@example.com", "not an email")
    ]

    assert len(set(answers)) == 1
    (mail,) = outbox.messages()
    assert mail.to == ["admin@example.com"]


def test_sign_in_answers_take_the_same_time_for_admins_readers_and_strangers(
    api, outbox, clock, monotonic, monkeypatch, configure
):
    configure(IP_REQUESTS_PER_HOUR="4")
    api.invite("admin@example.com", role="admin", delivery="none")
    api.invite("reader@example.com", delivery="none")
    clock.advance(61)
    # The admin's email is sent inline: make it take as long as a real SES call can
    from magiclink import mailer

    send = mailer.send
    monkeypatch.setattr(mailer, "send", lambda *a, **k: monotonic.spend(0.3) or send(*a, **k))
    form = _sign_in_form(api)

    held = {}
    for email in (
        "admin@example.com",
        "reader@example.com",
        "nobody@example.com",
        "not an email",
        "over@limit.example",
    ):
        start = monotonic.now
        assert _ask_to_sign_in(api, email, form)["statusCode"] == 200
        held[email] = monotonic.now - start

    # Every answer (the last one over the per-IP limit) waits until the same deadline: the uniform answer's time
    assert all(1.5 <= seconds < 1.6 for seconds in held.values()), held
    assert [m.to for m in outbox.messages()] == [["admin@example.com"]]


def test_the_sign_in_form_carries_a_token_bound_to_its_own_strict_cookie(api):
    page = _call(api, "GET", "/console")

    (cookie,) = [c for c in page["cookies"] if c.startswith("ml_console_form=")]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/console"):
        assert flag in cookie
    assert "Max-Age" not in cookie  # it lasts the browser's session
    nonce = cookie.split(";")[0].split("=", 1)[1]
    token = re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1)
    assert nonce not in page["body"]
    again = _call(api, "GET", "/console", form_cookie=nonce)  # another tab: the same cookie, so both forms work
    assert f'value="{token}"' in again["body"] and again["cookies"][0].startswith(f"ml_console_form={nonce};")


def test_a_sign_in_form_without_its_token_is_refused_and_spends_nothing(api, outbox, clock, monotonic, configure):
    configure(IP_REQUESTS_PER_HOUR="1")
    api.invite("admin@example.com", role="admin", delivery="none")
    clock.advance(61)
    nonce, token = _sign_in_form(api)
    other_nonce, other_token = _sign_in_form(api)
    forged = _forged(token)

    # Another site's form posts without the SameSite=Strict cookie; a stolen token fits no other cookie
    for cookie, presented in ((None, token), (nonce, None), (nonce, ""), (nonce, forged), (nonce, other_token)):
        fields = {"email": "admin@example.com"} | ({} if presented is None else {"csrf": presented})
        refused = _call(api, "POST", "/console/sign-in", form=fields, form_cookie=cookie)
        assert refused["statusCode"] == 403 and "sent from another site" in refused["body"]
        assert 'name="csrf" value="' in refused["body"]  # a fresh form, to try again

    assert outbox.messages() == []
    assert _ask_to_sign_in(api, "admin@example.com", (other_nonce, other_token))["statusCode"] == 200
    assert [m.to for m in outbox.messages()] == [["admin@example.com"]]  # the one allowed attempt was still there


def test_static_assets_are_served_and_nothing_else(api):
    assert _call(api, "GET", "/console/static/console.css")["statusCode"] == 200
    assert _call(api, "GET", "/console/static/../../templates/pages/layout.html")["statusCode"] == 404
    assert _call(api, "GET", "/console/static/secret.txt")["statusCode"] == 404


class CloudFormation:
    """CloudFormation's pre-signed response URL: an HTTPS server on loopback (crhelper answers over TLS only)
    with a certificate of its own that the test trusts. `answers` holds each answer PUT to it, in order."""

    def __init__(self, tmp_path):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, False, False, False), critical=True
            )  # digital signature, certificate signing
            .sign(key, hashes.SHA256())
        )
        self.cert_file, key_file = tmp_path / "cfn.pem", tmp_path / "cfn.key"
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.answers: list[dict] = []
        self.requests: list[tuple[str, str, str | None]] = []  # method, path with query, content-type
        self._arrived = threading.Condition()
        received = self

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                answer = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with received._arrived:  # kept before the reply: the handler may return as soon as it has it
                    received.requests.append((self.command, self.path, self.headers["Content-Type"]))
                    received.answers.append(answer)
                    received._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(self.cert_file, key_file)
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}/response?X-Amz-Signature=abc"

    def wait_for(self, count: int) -> list[dict]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.answers) >= count, timeout=10)
            return list(self.answers)

    def event(self, request_type: str, **changes) -> dict:
        return {
            "RequestType": request_type,
            "ResponseURL": self.url,
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/magiclink/1",
            "RequestId": "r1",
            "LogicalResourceId": "FirstAdmin",
            "ResourceType": "AWS::CloudFormation::CustomResource",
            "ResourceProperties": {"AdminEmail": "owner@example.com"},
        } | changes


@pytest.fixture
def cloudformation(tmp_path, monkeypatch):
    import crhelper.utils

    received = CloudFormation(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(received.cert_file))  # what crhelper's default TLS context trusts

    def unanswered(seconds):  # crhelper retries an answer that did not get through forever: fail instead
        raise AssertionError("crhelper could not answer CloudFormation")

    monkeypatch.setattr(crhelper.utils, "time", types.SimpleNamespace(sleep=unanswered))
    threading.Thread(target=received.server.serve_forever, daemon=True).start()
    yield received
    received.server.shutdown()
    received.server.server_close()


def _bootstrap(functions, event: dict, context: LambdaContext | None = None) -> None:
    functions.handler("BootstrapFunction")(event, context or LambdaContext(functions.functions["BootstrapFunction"]))


def test_the_first_admin_is_invited_on_deploy(api, outbox, functions, cloudformation):
    _bootstrap(functions, cloudformation.event("Create"))
    _bootstrap(functions, cloudformation.event("Update", PhysicalResourceId="first-admin"))

    answers = cloudformation.answers
    assert [a["Status"] for a in answers] == ["SUCCESS", "SUCCESS"]
    assert [a["Reason"] for a in answers] == ["invited", "already a reader"]
    assert {(a["PhysicalResourceId"], a["StackId"], a["RequestId"], a["LogicalResourceId"]) for a in answers} == {
        ("first-admin", cloudformation.event("Create")["StackId"], "r1", "FirstAdmin")
    }
    assert cloudformation.requests == [("PUT", "/response?X-Amz-Signature=abc", "")] * 2
    (mail,) = outbox.messages()
    assert mail.to == ["owner@example.com"]
    reader = next(r for r in api.readers().body["readers"] if r["email"] == "owner@example.com")
    assert reader["role"] == "admin"


def test_deleting_the_first_admin_resource_changes_nothing_and_answers_at_once(api, outbox, functions, cloudformation):
    started = time.monotonic()
    _bootstrap(functions, cloudformation.event("Delete", PhysicalResourceId="first-admin"))

    (answer,) = cloudformation.answers
    assert (answer["Status"], answer["Reason"]) == ("SUCCESS", "nothing to do on delete")
    assert answer["PhysicalResourceId"] == "first-admin"
    assert time.monotonic() - started < 5  # no sleep_on_delete
    assert outbox.messages() == []
    assert api.readers().body["readers"] == []


def test_a_failed_first_admin_invite_answers_failed_with_a_short_reason(api, outbox, functions, cloudformation):
    _bootstrap(functions, cloudformation.event("Create", ResourceProperties={"AdminEmail": "not an email"}))

    (answer,) = cloudformation.answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("ValidationError: ") and "email" in answer["Reason"]
    assert len(answer["Reason"]) <= 200
    assert answer["PhysicalResourceId"] == "first-admin"
    assert outbox.messages() == []


def test_a_first_admin_invite_that_would_outlive_the_lambda_answers_failed_before_it_times_out(
    api, outbox, functions, cloudformation, monkeypatch
):
    context = LambdaContext(functions.functions["BootstrapFunction"])
    context._deadline = time.monotonic() + 1.5  # crhelper's timer answers half a second before this
    seen_while_running: list[dict] = []

    def stuck(email: str) -> bool:  # e.g. DynamoDB not answering: only the timer can answer CloudFormation
        seen_while_running.extend(cloudformation.wait_for(1))
        return True

    monkeypatch.setattr(revocation, "reader_exists", stuck)
    _bootstrap(functions, cloudformation.event("Create"), context)

    (answer,) = seen_while_running
    assert (answer["Status"], answer["Reason"]) == ("FAILED", "Execution timed out")
    assert answer["PhysicalResourceId"] == "first-admin"
    assert cloudformation.answers[0] == answer  # (Lambda would have stopped the function before a second one)


@pytest.mark.parametrize("path", ["/console/api/readers/not-an-email/links/deactivate"])
def test_bad_emails_in_console_paths_are_400(api, outbox, path):
    cookie, csrf = _sign_in(api, outbox)
    assert _call(api, "POST", path, cookie=cookie, csrf=csrf)["statusCode"] == 400


def test_an_admin_sign_in_request_reads_the_email_pointer_once(api, outbox, clock, aws_calls, monotonic):
    api.invite("admin@example.com", role="admin", delivery="none")
    clock.advance(61)
    form = _sign_in_form(api)
    aws_calls.clear()

    _ask_to_sign_in(api, "admin@example.com", form)

    dynamodb = {op: n for (service, op), n in aws_calls.items() if service == "dynamodb"}
    # the pointer, the reader, the rate-limit counters, the new link, then its delivery
    assert dynamodb == {"GetItem": 2, "TransactWriteItems": 1, "UpdateItem": 2}
    assert outbox.messages()[-1].to == ["admin@example.com"]


def test_sign_in_requests_count_against_the_rate_limits_and_the_page_still_says_the_same(
    api, outbox, clock, configure, monotonic
):
    configure(IP_REQUESTS_PER_HOUR="2")
    api.invite("admin@example.com", role="admin", delivery="none")
    clock.advance(61)
    form = _sign_in_form(api)
    pages = [_ask_to_sign_in(api, e, form) for e in ("x@example.com", "y@example.com")]

    # The third attempt from this address is over the limit: the admin gets no email, the page is unchanged
    last = _ask_to_sign_in(api, "admin@example.com", form)

    assert {p["body"] for p in pages} == {last["body"]} and last["statusCode"] == 200
    assert outbox.messages() == []


# Every route of the console's resolver, as the resolver itself has them: a route added later is in here too.
ROUTES = [
    (route.method, route.path)
    for route in (lambda app: app._static_routes + app._dynamic_routes)(
        Functions(Template()).module("ConsoleFunction").app
    )
]
SIGN_IN = ("POST", "/console/sign-in")  # the one change before a session: it has its own token (above)
CHANGES = [route for route in ROUTES if route[0] not in ("GET", "HEAD") and route != SIGN_IN]
PRE_SESSION = [("GET", "/console"), SIGN_IN, ("GET", "/console/callback"), ("GET", "/console/static/<name>")]
# A body each route would accept, so that with the right token the same request does change something
BODIES = {
    "/console/api/readers": {"email": "new@example.com", "delivery": "none"},
    "/console/api/readers/<email>/links": {"delivery": "none"},
}


def _concrete(path: str) -> str:
    email = "one@example.com" if path.startswith("/console/api/access_requests/") else "ada@example.com"
    return path.replace("<email>", quote(email))


def _send(api, route: tuple[str, str], cookie: str | None, csrf: str | None):
    method, path = route
    if path == "/console/sign-out":  # a plain form: the token is its `csrf` field
        return _call(api, method, path, cookie=cookie, form={} if csrf is None else {"csrf": csrf})
    return _call(api, method, _concrete(path), cookie=cookie, csrf=csrf, body=BODIES.get(path))


def test_the_csrf_test_covers_every_change_but_the_sign_in_form():
    changes = [route for route in ROUTES if route[0] not in ("GET", "HEAD")]
    assert set(PRE_SESSION) <= set(ROUTES) and set(changes) - set(CHANGES) == {SIGN_IN}


@pytest.mark.parametrize("route", CHANGES, ids=lambda r: f"{r[0]} {r[1]}")
def test_every_change_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing(api, outbox, route):
    cookie, csrf = _sign_in(api, outbox)
    _, someone_elses = _sign_in(api, outbox, "admin2@example.com")  # a token of another admin's session
    api.invite("ada@example.com", delivery="none")
    api.request_link("one@example.com")  # a stranger's access request
    before, sent = table_items(), len(outbox.messages())

    for bad in (None, "", _forged(csrf), someone_elses):
        refused = _send(api, route, cookie, bad)
        assert refused["statusCode"] == 403 and _json(refused)["error_type"] == "invalid_csrf_token", bad

    assert table_items() == before and len(outbox.messages()) == sent
    done = _send(api, route, cookie, csrf)  # the same request with the session's own token
    assert done["statusCode"] in (200, 303) and table_items() != before


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r not in PRE_SESSION],
    ids=lambda r: f"{r[0]} {r[1]}",
)
def test_without_a_session_every_other_route_is_401_before_its_body_is_read(api, route):
    method, path = route
    for body in ("{not json", json.dumps({"email": 12, "unknown": True})):
        sent = event("console_api")
        sent["rawPath"] = sent["requestContext"]["http"]["path"] = _concrete(path)
        sent["requestContext"]["http"]["method"] = method
        sent["headers"].pop("cookie", None)
        sent.pop("cookies", None)
        sent["headers"] |= {"content-type": "application/json", "x-csrf-token": "0" * 40}
        sent["body"] = body
        refused = api.functions.invoke("ConsoleFunction", sent)
        assert refused["statusCode"] == 401, refused["body"]
        assert json.loads(refused["body"])["error_type"] == "console_session_expired"


def test_anonymous_sign_in_requests_never_hold_back_the_admins_console_actions(api, outbox, configure):
    # Given an admin in the console, a reader allowed 3 links an hour, and anonymous sign-in requests for that email
    configure(EMAIL_LINKS_PER_HOUR="3")
    cookie, csrf = _sign_in(api, outbox)
    api.invite("ada@example.com", delivery="none")
    for _ in range(5):
        _ask_to_sign_in(api, "ada@example.com")

    # When the admin re-links the reader in the console
    relinked = _call(
        api, "POST", "/console/api/readers/ada%40example.com/links", cookie=cookie, csrf=csrf, body={"delivery": "none"}
    )

    # Then it is served: the sign-in form counts against the public budgets, not the admins'
    assert relinked["statusCode"] == 200, relinked["body"]
