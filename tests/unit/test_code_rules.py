"""The one-time code's rules, without AWS: its shape, what a person may type, its keyed hash, its lifetime
beside its link, and the pages' ticket."""

from __future__ import annotations

from unittest import mock

import pytest

from magiclink import codes, tokens
from magiclink.models.items import MAX_CODE_TRIES, Reader

KEYS = [b"k" * 32, b"j" * 32]


@pytest.fixture(autouse=True)
def token_keys(monkeypatch):
    for name, value in {"TABLE_NAME": "t", "CREDENTIALS_SECRET_ID": "c", "TOKEN_KEY_SECRET_ID": "k"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CODE_LIFETIME_MINUTES", "10")
    from magiclink import settings

    settings.get_settings.cache_clear()
    with mock.patch("magiclink.keyring.token_keys", return_value=KEYS):
        yield
    settings.get_settings.cache_clear()


def test_a_code_is_six_random_digits():
    made = {tokens.new_code() for _ in range(2000)}
    assert all(len(c) == 6 and c.isascii() and c.isdigit() for c in made)
    assert len(made) > 1900  # random, not a counter or a constant
    assert any(c.startswith("0") for c in made)  # leading zeros are kept


@pytest.mark.parametrize(
    ("typed", "code"),
    [("123456", "123456"), (" 123 456 ", "123456"), ("123-456", "123456"), ("012345", "012345")],
)
def test_what_a_person_types_is_read_as_the_code(typed, code):
    assert tokens.normal_code(typed) == code


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123_456", "1" * 5000])
def test_anything_but_six_digits_is_no_code(typed):
    assert tokens.normal_code(typed) is None


def test_the_stored_hash_is_keyed_and_bound_to_its_user():
    h = tokens.code_hash(KEYS[0], "user-test-a", "123456")
    assert h != tokens.code_hash(KEYS[0], "user-test-b", "123456")
    assert h != tokens.code_hash(KEYS[1], "user-test-a", "123456")
    assert "123456" not in h and len(h) == 64
    assert tokens.code_hashes(KEYS, "user-test-a", "123456")[0] == h


def test_a_code_lives_as_long_as_its_link_at_most_the_deployments_cap_and_a_returned_link_has_none():
    now = 1_000_000
    long_link = codes.Code.beside("user-test-a", KEYS[0], now=now, link_expires_at=now + 3600, delivery="email")
    assert long_link.code_expires_at == now + 600 and long_link.minutes(now) == 10
    short_link = codes.Code.beside("user-test-a", KEYS[0], now=now, link_expires_at=now + 300, delivery="email")
    assert short_link.code_expires_at == now + 300 and short_link.minutes(now) == 5
    asked = codes.Code.beside("u", KEYS[0], now=now, link_expires_at=now + 3600, delivery="email", minutes=2)
    assert asked.code_expires_at == now + 120
    assert codes.Code.beside("u", KEYS[0], now=now, link_expires_at=now + 3600, delivery="none") == codes.Code()


def _reader(**fields) -> Reader:
    base = {
        "user_id": "user-test-a",
        "email_id": "email-test-a",
        "email": "ada@example.com",
        "created_at": 0,
        "grant_id": "grant-test-a",
        "invited_at": 0,
        "invited_by": "test",
        "link_hash": "h",
        "link_issued_at": 0,
        "link_expires_at": 1000,
        "code_hash": "c",
        "code_expires_at": 600,
    }
    return Reader.model_validate(base | fields)


def test_a_code_may_be_tried_while_its_link_is_live_and_its_tries_last():
    assert _reader().code_usable(now=100)
    assert not _reader().code_usable(now=600)  # the code's own end, before the link's
    assert not _reader(code_tries=MAX_CODE_TRIES).code_usable(now=100)
    assert _reader(code_tries=MAX_CODE_TRIES).link_state_at(100) == "deactivated"  # the link died with it
    assert not _reader(link_used_at=50).code_usable(now=100)
    assert not _reader(link_hash=None).code_usable(now=100)
    assert not _reader(grant_status="revoked").code_usable(now=100)


def test_a_ticket_names_its_email_and_when_and_lasts_as_long_as_a_code():
    signed = codes.ticket(" Ada@Example.COM", 1000)
    assert codes.read_ticket(signed, 1000) == ("Ada@example.com", 1000)
    assert codes.read_ticket(signed, 1000 + 599) is not None
    assert codes.read_ticket(signed, 1000 + 600) is None  # no code it covers can still live
    assert codes.read_ticket(signed, 999) is None
    assert codes.read_ticket(signed[:-2] + "xx", 1000) is None
    assert codes.read_ticket("", 1000) is None
    assert codes.read_ticket(codes.ticket("not an email", 1000), 1000) is None


def test_a_ticket_signed_before_a_key_rotation_still_reads():
    signed = codes.ticket("ada@example.com", 1000)
    with mock.patch("magiclink.keyring.token_keys", return_value=[b"n" * 32, *KEYS]):
        assert codes.read_ticket(signed, 1000) == ("ada@example.com", 1000)
    with mock.patch("magiclink.keyring.token_keys", return_value=[b"n" * 32]):
        assert codes.read_ticket(signed, 1000) is None
