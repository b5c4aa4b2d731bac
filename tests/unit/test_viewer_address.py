"""Which client sent a request (http.client_ip): CloudFront-Viewer-Address, parsed strictly, and trusted only
beside the private site's edge secret; otherwise API Gateway's source IP."""

from __future__ import annotations

import pytest

from magiclink import http

SECRET = "the-edge-secret"
EDGE_IP = "130.176.1.1"  # one CloudFront edge: what API Gateway sees as the source of every site request


@pytest.mark.parametrize(
    ("value", "ip"),
    [
        ("198.51.100.10:46532", "198.51.100.10"),
        (" 198.51.100.10:0 ", "198.51.100.10"),
        ("2001:db8:85a3::8a2e:370:7334:46532", "2001:db8:85a3::8a2e:370:7334"),  # CloudFront's IPv6 form
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("0000:0000:0000:0000:0000:0000:0000:0001:52325", "::1"),
        ("[::ffff:198.51.100.10]:8080", "::ffff:198.51.100.10"),  # limits counts it as the IPv4 address
    ],
)
def test_a_viewer_address_gives_its_ip(value, ip):
    assert http.viewer_ip(value) == ip


@pytest.mark.parametrize(
    "value",
    [
        "",
        "198.51.100.10",  # no port
        "198.51.100.10:",
        "198.51.100.10:65536",
        "198.51.100.10:\uff18\uff10",  # fullwidth digits: isdigit() would take them
        "198.51.100.10:²",
        "198.51.100.10:-1",
        "999.1.1.1:80",
        "example.com:443",
        "[198.51.100.10]:80",  # brackets are for IPv6
        "[2001:db8::1]443",
        "[2001:db8::1:443",
        "fe80::1%eth0:443",  # a zone is nobody's public address
        "2001:db8::1",  # its last group read as a port leaves no address
        "1.2.3.4:80, 5.6.7.8:80",
        "a" * 100 + ":80",
        "unknown",
    ],
)
def test_anything_else_is_no_address(value):
    assert http.viewer_ip(value) is None


def _event(headers: dict[str, str]) -> dict:
    return {"headers": headers, "requestContext": {"http": {"sourceIp": EDGE_IP}}}


@pytest.fixture
def edge(monkeypatch):
    monkeypatch.setattr(http, "edge_secret", lambda: SECRET)


def test_the_viewer_address_counts_only_beside_the_edge_secret(edge):
    trusted = {"x-magiclink-edge": SECRET, "cloudfront-viewer-address": "203.0.113.7:5000"}
    assert http.client_ip(_event(trusted)) == "203.0.113.7"
    assert http.client_ip(_event({"X-Magiclink-Edge": SECRET, "CloudFront-Viewer-Address": "[2001:db8::7]:1"})) == (
        "2001:db8::7"
    )
    for forged in ("", "the-edge-secreT", SECRET + " ", SECRET[:-1], "é" + SECRET, "\udcff"):
        assert http.client_ip(_event(trusted | {"x-magiclink-edge": forged})) == EDGE_IP
    assert http.client_ip(_event({"cloudfront-viewer-address": "203.0.113.7:5000"})) == EDGE_IP
    assert http.client_ip(_event({"x-magiclink-edge": SECRET})) == EDGE_IP
    assert http.client_ip(_event(trusted | {"cloudfront-viewer-address": "garbage"})) == EDGE_IP


def test_without_a_site_no_header_is_trusted(monkeypatch):
    monkeypatch.setattr(http, "edge_secret", lambda: "")
    headers = {"x-magiclink-edge": "", "cloudfront-viewer-address": "203.0.113.7:5000"}
    assert http.client_ip(_event(headers)) == EDGE_IP


def test_the_secret_is_not_read_for_a_request_without_both_headers(monkeypatch):
    def unreachable() -> str:
        raise AssertionError("read the edge secret")

    monkeypatch.setattr(http, "edge_secret", unreachable)
    assert http.client_ip(_event({})) == EDGE_IP
    assert http.client_ip(_event({"cloudfront-viewer-address": "203.0.113.7:5000"})) == EDGE_IP
    assert http.client_ip({"headers": None, "requestContext": None}) == ""
