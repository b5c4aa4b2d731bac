"""Token shape, locator and keyed hash."""

from __future__ import annotations

import base64
import uuid

import pytest

from magiclink import tokens


def test_a_token_is_64_url_safe_characters_carrying_256_random_bits():
    user = uuid.uuid4()
    token = tokens.new_token(user)

    assert len(token) == tokens.TOKEN_LENGTH == 64
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = base64.urlsafe_b64decode(token)
    assert raw[:16] == user.bytes and len(raw[16:]) * 8 == 256


def test_tokens_for_one_user_never_repeat():
    user = uuid.uuid4()
    made = {tokens.new_token(user) for _ in range(2000)}
    assert len(made) == 2000


def test_locate_returns_the_user_a_token_was_made_for():
    user = uuid.uuid4()
    assert tokens.locate(tokens.new_token(user)) == user


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "A" * 63,
        "A" * 65,
        "A" * 62 + "==",
        "A" * 63 + "+",
        "A" * 63 + "/",
        "Á" * 64,
        "A" * 10_000,
        " " + "A" * 63,
    ],
)
def test_locate_refuses_anything_else(token):
    assert tokens.locate(token) is None


def test_the_hash_is_keyed_and_is_not_the_token():
    token = tokens.new_token(uuid.uuid4())
    h1 = tokens.token_hash(b"key-one", token)

    assert h1 == tokens.token_hash(b"key-one", token)
    assert h1 != tokens.token_hash(b"key-two", token)
    assert token not in h1 and len(h1) == 64
