"""The client's IP behind the private site: every request through the distribution reaches API Gateway from an
edge's address, so the public budgets count the viewer CloudFront names (CloudFront-Viewer-Address), but only
on a request that carries the edge secret (X-Magiclink-Edge); on the direct execute-api URL anybody can send
both headers, and there the source IP counts, as ever."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
from support import LocalServer, event, table_items

from local import stack

HOUR = 3600
EDGE_IP = "130.176.1.1"  # one CloudFront edge, in front of every reader below
ADA, BOB = "203.0.113.7", "198.51.100.9"


@pytest.fixture
def frozen(clock, rate_limits):
    now = int(time.time())
    clock.freeze(now - now % HOUR + 100)
    return clock


@pytest.fixture
def edge_secret(aws, configure, frozen) -> str:
    """The deployment of a site (EDGE_SECRET_ID, as SiteProtection=true sets it), two public requests an hour
    per IP, and the secret its distribution sends."""
    name = stack.local_names()["SiteEdgeSecret"]
    configure(EDGE_SECRET_ID=name, IP_REQUESTS_PER_HOUR="2")
    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])["value"]


def _via(sent: dict, viewer: str | None, secret: str | None, source: str = EDGE_IP) -> dict:
    """`sent` as it reaches API Gateway from `source`, with the headers CloudFront adds (None: not sent)."""
    sent["requestContext"]["http"]["sourceIp"] = source
    if viewer is not None:
        sent["headers"]["cloudfront-viewer-address"] = viewer
    if secret is not None:
        sent["headers"]["x-magiclink-edge"] = secret
    return sent


def _ask(api, email: str, viewer: str | None, secret: str | None, source: str = EDGE_IP) -> int:
    return api.deliver(_via(event("request_link", {"email": email}), viewer, secret, source)).status


def _budgets() -> set[str]:
    """The per-IP counters written so far."""
    subjects = {item["pk"]["S"].removeprefix("RATE#") for item in table_items() if item["pk"]["S"].startswith("RATE#")}
    return {s for s in subjects if s.startswith(("public-ip#", "public-code-ip#"))}


def test_two_readers_behind_one_edge_have_budgets_of_their_own(api, edge_secret):
    assert _ask(api, "a@example.com", f"{ADA}:50001", edge_secret) == 200
    assert _ask(api, "b@example.com", f"{ADA}:50002", edge_secret) == 200
    assert _ask(api, "c@example.com", f"{ADA}:50003", edge_secret) == 429  # Ada's two are spent

    assert _ask(api, "d@example.com", f"{BOB}:40000", edge_secret) == 200  # Bob, behind the same edge, is not held
    assert _ask(api, "e@example.com", "[2001:db8:1:2::5]:443", edge_secret) == 200
    assert _budgets() == {f"public-ip#{ADA}", f"public-ip#{BOB}", "public-ip#2001:db8:1:2::/64"}


@pytest.mark.parametrize("secret", [None, "", "not-the-secret"], ids=["missing", "empty", "wrong"])
def test_without_the_right_secret_the_viewer_address_is_ignored_and_the_edge_ip_counts(api, edge_secret, secret):
    assert _ask(api, "a@example.com", f"{ADA}:50001", secret) == 200
    assert _ask(api, "b@example.com", f"{BOB}:40000", secret) == 200
    reply = api.deliver(_via(event("request_link", {"email": "c@example.com"}), "192.0.2.1:1", secret))
    assert reply.status == 429 and reply.body["error_type"] == "too_many_requests"  # no 4xx of its own
    assert _budgets() == {f"public-ip#{EDGE_IP}"}
    assert (edge_secret[:8] not in json.dumps(reply.body)) and "x-magiclink-edge" not in json.dumps(reply.body)


def test_the_direct_api_ignores_a_spoofed_viewer_address(api, edge_secret):
    attacker = "192.0.2.66"
    for n, spoofed in enumerate((f"{ADA}:1", f"{BOB}:2", "[2001:db8::1]:3")):
        assert _ask(api, f"{n}@example.com", spoofed, None, source=attacker) == (200 if n < 2 else 429)
    assert _budgets() == {f"public-ip#{attacker}"}  # Ada's and Bob's budgets untouched


def test_the_access_form_and_its_code_count_the_viewer(api, edge_secret, frozen):
    api.invite("ada@example.com", delivery="none", invite_magic_link_url="http://127.0.0.1:3000/_local/callback")
    frozen.advance(61)  # past the invite's cooldown
    form = _via(event("access_submit", raw_body=urlencode({"email": "ada@example.com"})), f"{ADA}:1", edge_secret)
    page = api.functions.invoke("RequestFunction", form)
    assert page["statusCode"] == 200, page["body"]
    ticket = next(c for c in page["cookies"] if c.startswith("ml_code=")).split(";")[0]

    code = _via(event("access_submit", raw_body=urlencode({"code": "000000"})), f"{ADA}:2", edge_secret)
    code["headers"] |= {"sec-fetch-site": "same-origin", "cookie": ticket}
    code["cookies"] = [ticket]
    assert api.functions.invoke("RequestFunction", code)["statusCode"] in (400, 401, 404)  # a wrong code, counted
    assert _budgets() == {f"public-ip#{ADA}", f"public-code-ip#{ADA}"}


def test_continue_records_the_viewers_address_on_the_session(api, edge_secret, outbox):
    api.invite(
        "ada@example.com", invite_magic_link_url="http://127.0.0.1:3000/_local/callback", session_duration_minutes=60
    )
    token = parse_qs(urlsplit(outbox.messages()[-1].links[0]).query)["token"][0]
    sent = _via(event("landing_continue", raw_body=urlencode({"token": token})), f"{ADA}:5", edge_secret)
    sent["headers"]["sec-fetch-site"] = "same-origin"

    done = api.functions.invoke("LandingFunction", sent)

    assert done["statusCode"] == 303, done["body"]
    session_token = parse_qs(urlsplit(done["headers"]["Location"]).fragment)["session_token"][0]
    session = api.send("sessions_authenticate", {"session_token": session_token}).body["session"]
    assert session["attributes"]["ip_address"] == ADA


def test_console_sign_in_counts_the_viewer(api, edge_secret, monotonic):
    page = api.functions.invoke("ConsoleFunction", event("console"))
    nonce = next(c for c in page["cookies"] if c.startswith("ml_console_form=")).split(";")[0]
    csrf = page["body"].split('name="csrf" value="', 1)[1].split('"', 1)[0]
    sent = _via(event("console_api"), f"{BOB}:7", edge_secret)
    sent["rawPath"] = sent["requestContext"]["http"]["path"] = "/console/sign-in"
    sent["requestContext"]["http"]["method"] = "POST"
    sent["body"] = urlencode({"email": "admin@example.com", "csrf": csrf})
    sent["headers"] |= {"content-type": "application/x-www-form-urlencoded", "cookie": nonce}
    sent["cookies"] = [nonce]

    assert api.functions.invoke("ConsoleFunction", sent)["statusCode"] == 200
    assert _budgets() == {f"public-ip#{BOB}"}


def test_the_local_site_adds_what_cloudfront_adds_in_place_of_the_viewers_own(aws):
    from local import site

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.local_names()["SiteEdgeSecret"])
    forged = {"Content-Type": "application/json", "cloudfront-viewer-address": f"{ADA}:1", "X-MAGICLINK-EDGE": "x"}

    headers = site.origin_headers(forged, ("127.0.0.2", 50123))

    assert headers == {
        "Content-Type": "application/json",
        "CloudFront-Viewer-Address": "127.0.0.2:50123",
        "X-Magiclink-Edge": json.loads(secret["SecretString"])["value"],
    }
    assert site.origin_headers({}, ("::1", 8080, 0, 0))["CloudFront-Viewer-Address"] == "::1:8080"  # unbracketed


@pytest.fixture(scope="module")
def two_an_hour():
    """`make run` with its site, two public requests an hour per IP."""
    server = LocalServer.start({"MAGICLINK_PARAMETER_OVERRIDES": "IpRequestsPerHour=2"})
    yield server
    server.stop()


def _ask_from(url: str, client: str, email: str, headers: dict[str, str] | None = None) -> int:
    """POST the public request from the loopback address `client` (any 127/8 address is this machine's)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15, source_address=(client, 0))
    body = json.dumps({"email": email})
    connection.request(
        "POST", "/v1/magic_links/email/request", body, {"Content-Type": "application/json", **(headers or {})}
    )
    status = connection.getresponse().status
    connection.close()
    return status


def test_through_the_local_site_each_client_has_its_own_budget_and_cannot_claim_anothers(two_an_hour):
    """The local site reaches the functions from its own address, as a CloudFront edge reaches API Gateway: only
    the viewer's address and the edge secret it adds tell its clients apart."""
    site, api = two_an_hour.site, two_an_hour.base
    spoof = {"CloudFront-Viewer-Address": "127.0.0.9:1", "X-Magiclink-Edge": "a guess"}
    assert _ask_from(site, "127.0.0.2", "a@example.com", spoof) == 200  # replaced by the site: counted as 127.0.0.2
    assert _ask_from(site, "127.0.0.2", "b@example.com") == 200
    assert _ask_from(site, "127.0.0.2", "c@example.com") == 429
    assert _ask_from(site, "127.0.0.3", "d@example.com") == 200  # another client of the same site
    assert _ask_from(site, "127.0.0.9", "e@example.com") == 200  # whom the spoof named: untouched
    assert _ask_from(site, "127.0.0.9", "e2@example.com") == 200
    # The API's own listener trusts no header: a spoof there counts its sender
    assert _ask_from(api, "127.0.0.4", "f@example.com", {"CloudFront-Viewer-Address": "127.0.0.5:1"}) == 200
    assert _ask_from(api, "127.0.0.4", "g@example.com", {"CloudFront-Viewer-Address": "127.0.0.6:1"}) == 200
    assert _ask_from(api, "127.0.0.4", "h@example.com", {"CloudFront-Viewer-Address": "127.0.0.7:1"}) == 429
