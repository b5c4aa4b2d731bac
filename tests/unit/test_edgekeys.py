"""magiclink.edgekeys: the site keys the gate verifies with, published into the CloudFront KeyValueStore.

moto has no cloudfront-keyvaluestore, so botocore's Stubber plays it, strictly: every call must be the one
expected, with exactly these parameters (the store's ETag as IfMatch included)."""

from __future__ import annotations

from unittest.mock import patch

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import Stubber

from magiclink import edgekeys, keyring, sitecookie

ARN = "arn:aws:cloudfront::123456789012:key-value-store/0b7a1c52-1f0e-4c1e-9d55-3b2a1c0d9e8f"
CURRENT, PREVIOUS, RETIRED = b"current-token-key-0123456789", b"previous-token-key-0123456789", b"retired-token-key"


@pytest.fixture
def token_keys(monkeypatch):
    keys = [CURRENT, PREVIOUS]
    monkeypatch.setattr(keyring, "token_keys", lambda: keys)
    return keys


@pytest.fixture
def forgotten(monkeypatch):
    """How often the cached token key was dropped before publishing."""
    calls = []
    monkeypatch.setattr(edgekeys.credentials, "forget", lambda: calls.append(1))
    return calls


@pytest.fixture
def kvs(monkeypatch):
    # Unsigned: the tests' venv has no awscrt, which SigV4A needs (the last test checks the function ships it),
    # and a stubbed call is never sent anyway.
    client = boto3.client(
        "cloudfront-keyvaluestore", region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )
    monkeypatch.setattr(edgekeys, "client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _entries(*token_keys: bytes) -> dict[str, str]:
    """The site-key-* entries these token keys make, in order (what sitecookie.site_keys() lists)."""
    with patch.object(keyring, "token_keys", lambda: list(token_keys)):
        return {f"{sitecookie.KEY_PREFIX}{kid}": value for kid, value in sitecookie.site_keys()}


def _describe(kvs: Stubber, etag: str) -> None:
    kvs.add_response(
        "describe_key_value_store",
        {"ItemCount": 0, "TotalSizeInBytes": 0, "KvsARN": ARN, "Created": "2026-01-01T00:00:00Z", "ETag": etag},
        {"KvsARN": ARN},
    )


def _list(kvs: Stubber, entries: dict[str, str]) -> None:
    items = [{"Key": key, "Value": value} for key, value in entries.items()]
    kvs.add_response("list_keys", {"Items": items}, {"KvsARN": ARN})


def _updated(kvs: Stubber, etag: str, **batch) -> None:
    kvs.add_response(
        "update_keys",
        {"ItemCount": 2, "TotalSizeInBytes": 100, "ETag": f"{etag}-next"},
        {"KvsARN": ARN, "IfMatch": etag, **batch},
    )


def test_an_empty_store_gets_every_accepted_key_in_one_write_under_its_etag(token_keys, forgotten, kvs):
    wanted = _entries(CURRENT, PREVIOUS)
    _describe(kvs, "E1")
    _list(kvs, {})
    _updated(kvs, "E1", Puts=[{"Key": k, "Value": v} for k, v in wanted.items()])

    changes = edgekeys.publish(ARN)

    assert changes == {"put": list(wanted), "deleted": []}
    assert forgotten == [1]  # the token key is read afresh, not from a 5-minute cache


def test_after_a_rotation_the_new_key_is_added_the_retired_removed_and_other_entries_left(token_keys, forgotten, kvs):
    token_keys[:] = [CURRENT, PREVIOUS]  # RETIRED was the previous key until this rotation
    present = _entries(PREVIOUS, RETIRED) | {"unrelated": "kept"}
    _describe(kvs, "E7")
    _list(kvs, present)
    current = _entries(CURRENT)
    _updated(
        kvs,
        "E7",
        Puts=[{"Key": k, "Value": v} for k, v in current.items()],
        Deletes=[{"Key": k} for k in _entries(RETIRED)],
    )

    changes = edgekeys.publish(ARN)

    assert changes == {"put": list(current), "deleted": list(_entries(RETIRED))}


def test_a_store_already_right_is_not_written(token_keys, forgotten, kvs):
    _describe(kvs, "E2")
    _list(kvs, _entries(CURRENT, PREVIOUS))

    assert edgekeys.publish(ARN) == {"put": [], "deleted": []}


def test_a_write_that_raced_another_is_retried_on_the_new_etag(token_keys, forgotten, kvs):
    wanted = [{"Key": k, "Value": v} for k, v in _entries(CURRENT, PREVIOUS).items()]
    _describe(kvs, "E3")
    _list(kvs, {})
    kvs.add_client_error(
        "update_keys",
        service_error_code="ConflictException",
        http_status_code=409,
        expected_params={"KvsARN": ARN, "IfMatch": "E3", "Puts": wanted},
    )
    _describe(kvs, "E4")
    _list(kvs, {})
    _updated(kvs, "E4", Puts=wanted)

    assert len(edgekeys.publish(ARN)["put"]) == 2


def test_another_refusal_is_not_retried(token_keys, forgotten, kvs):
    _describe(kvs, "E5")
    _list(kvs, {})
    kvs.add_client_error("update_keys", service_error_code="AccessDeniedException", http_status_code=403)

    with pytest.raises(Exception, match="AccessDenied"):
        edgekeys.publish(ARN)


def test_conflicts_past_the_attempts_give_up(token_keys, forgotten, kvs):
    for attempt in range(edgekeys.ATTEMPTS):
        _describe(kvs, f"C{attempt}")
        _list(kvs, {})
        kvs.add_client_error("update_keys", service_error_code="ConflictException", http_status_code=409)

    with pytest.raises(Exception, match="Conflict"):
        edgekeys.publish(ARN)


def test_the_keyvaluestore_client_signs_with_sigv4a():
    """The store's endpoint rules ask for SigV4A, which botocore does only with awscrt (functions/sitekeys ships
    it): the requirement is real, and pinned to the version botocore's own `crt` extra names."""
    from importlib.metadata import requires
    from pathlib import Path

    client = boto3.client(
        "cloudfront-keyvaluestore", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    endpoint = client._ruleset_resolver.construct_endpoint(
        client.meta.service_model.operation_model("DescribeKeyValueStore"), {"KvsARN": ARN}, {}
    )
    schemes = [scheme["name"] for scheme in endpoint.properties["authSchemes"]]
    assert schemes == ["sigv4a"]
    crt = next(r for r in requires("botocore") if r.startswith("awscrt"))
    pinned = crt.split(";")[0].replace(" ", "").replace("(", "").replace(")", "")
    requirements = Path(__file__).parents[2] / "functions" / "sitekeys" / "requirements.txt"
    assert pinned in requirements.read_text().split()
