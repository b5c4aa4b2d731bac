"""Idempotency-Key on invite: a retry answers what the first request did, sending nothing again."""

from __future__ import annotations

import pytest
from support import event, table_items


def _invite(api, body: dict, key: str | None):
    sent = event("invite", body)
    if key is not None:
        sent["headers"]["idempotency-key"] = key
    return api.deliver(sent)


def _readers() -> list[dict]:
    return [i for i in table_items() if i["sk"]["S"] == "USER"]


def test_a_retried_invite_answers_the_first_response_without_a_second_email_or_token(api, outbox):
    body = {"email": "ada@example.com", "name": {"first_name": "Ada"}}

    first = _invite(api, body, "invite-ada-1")
    (reader,) = _readers()
    again = _invite(api, body, "invite-ada-1")

    assert first.status == again.status == 200
    assert again.body == first.body  # the same user, grant and request id
    assert len(outbox.messages()) == 1
    (after,) = _readers()
    assert after["link_hash"] == reader["link_hash"]  # no second token: the emailed link still works


def test_a_retried_invite_without_email_answers_the_same_link_which_is_stored_only_sealed(api):
    from test_key_rotation import _current_key, _rotate

    body = {"email": "ada@example.com", "delivery": "none"}
    first = _invite(api, body, "k-none")
    url = first.body["magic_link_url"]
    _rotate([_current_key()])  # a rotation in between: the record was sealed under the previous key

    again = _invite(api, body, "k-none")

    assert again.status == 200 and again.body["magic_link_url"] == url
    assert url not in str(table_items()) and url.split("token=")[1] not in str(table_items())
    assert api.authenticate(url.split("token=")[1]).status == 200  # and it is the live link


def test_the_same_key_with_another_body_is_409_and_changes_nothing(api, outbox):
    _invite(api, {"email": "ada@example.com"}, "k-1")

    reply = _invite(api, {"email": "bob@example.com"}, "k-1")

    assert reply.status == 409 and reply.body["error_type"] == "idempotency_key_conflict"
    assert [r["email"]["S"] for r in _readers()] == ["ada@example.com"]
    assert len(outbox.messages()) == 1


def test_without_a_key_every_invite_is_new(api, outbox):
    _invite(api, {"email": "ada@example.com"}, None)
    _invite(api, {"email": "ada@example.com"}, None)
    assert len(outbox.messages()) == 2


def test_a_failed_first_attempt_can_be_retried_with_the_same_key(api, outbox):
    import boto3

    boto3.client("ses").delete_identity(Identity="example.com")
    failed = _invite(api, {"email": "ada@example.com"}, "k-2")
    assert failed.status == 400 and failed.body["error_type"] == "email_rejected"

    boto3.client("ses").verify_domain_identity(Domain="example.com")
    retried = _invite(api, {"email": "ada@example.com"}, "k-2")
    assert retried.status == 200
    assert len(outbox.messages()) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_a_malformed_key_is_400(api, outbox, key):
    reply = _invite(api, {"email": "ada@example.com"}, key)
    assert reply.status == 400 and "Idempotency-Key" in reply.body["error_message"]
    assert outbox.messages() == []
