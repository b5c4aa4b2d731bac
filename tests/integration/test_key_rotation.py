"""Rotating the token HMAC key: what was issued before keeps working until the old key is retired."""

from __future__ import annotations

import json

import boto3
from support import event, last_token, table_items, token_of

from local import stack
from magiclink import credentials, tokens


def _rotate(previous: list[str]) -> bytes:
    """Put a new key in the secret, the given ones as previous; the next request reads it (cache cleared)."""
    sm = boto3.client("secretsmanager")
    name = stack.local_names()["TokenKeySecret"]
    new = "k-new-" + "n" * 58
    sm.put_secret_value(SecretId=name, SecretString=json.dumps({"kid": "k2", "key": new, "previous_keys": previous}))
    credentials._provider.cache_clear()
    return new.encode()


def _current_key() -> str:
    sm = boto3.client("secretsmanager")
    return json.loads(sm.get_secret_value(SecretId=stack.local_names()["TokenKeySecret"])["SecretString"])["key"]


def test_links_and_sessions_from_before_a_rotation_work_until_the_old_key_is_retired(api, outbox):
    # Given a link, a second reader's link, and a session, all made under the old key
    api.invite("ada@example.com")
    ada_link = last_token(outbox)
    api.invite("bob@example.com")
    bob_link = last_token(outbox)
    api.invite("cy@example.com", delivery="none")
    url = api.invite("cy@example.com", delivery="none").body["magic_link_url"]
    session = api.authenticate(token_of(url), session_duration_minutes=60).body["session_token"]
    old = _current_key()

    # When the key is rotated, keeping the old one as previous
    new = _rotate([old])

    # Then what was issued before still works: the link page, the link, the session
    page = api.send("landing_show", query={"token": ada_link})
    assert "Continue" in page.body
    assert api.authenticate(ada_link).status == 200
    assert api.send("sessions_authenticate", {"session_token": session}).status == 200

    # And a new link is hashed with the new key only
    api.invite("dee@example.com")
    dee_link = last_token(outbox)
    stored = {i["email"]["S"]: i for i in table_items() if i["sk"]["S"] == "USER"}["dee@example.com"]
    assert stored["link_hash"]["S"] == tokens.token_hash(new, dee_link)

    # When the old key is retired, what it hashed stops working; what the new key hashed does not
    _rotate([])
    assert api.authenticate(bob_link).status == 401
    assert api.send("sessions_authenticate", {"session_token": session}).status == 404
    assert api.authenticate(dee_link).status == 200


def test_owner_grant_links_survive_a_rotation(api, outbox, configure):
    configure(NOTIFY_OWNER="true", OWNER_EMAIL="owner@example.com")
    api.request_link("stranger@example.com")
    grant_link = outbox.messages()[-1].links[0]
    query = dict(pair.split("=", 1) for pair in grant_link.split("?", 1)[1].split("&"))
    query["email"] = query["email"].replace("%40", "@")

    _rotate([_current_key()])

    page = api.deliver(event("access_grant_confirm", query=query))
    assert page.status == 200 and "Grant access" in page.body


def test_reader_cursors_from_before_a_rotation_keep_paging(api):
    # Given a cursor handed out under the old key
    for i in range(3):
        api.invite(f"r{i}@example.com", delivery="none")
    first = api.readers(limit="1").body
    cursor = first["next_cursor"]

    # When the key is rotated, keeping the old one as previous
    _rotate([_current_key()])

    # Then the old cursor still pages on, and the next cursor is signed with the new key
    page = api.readers(limit="1", cursor=cursor)
    assert page.status == 200
    assert [r["email"] for r in page.body["readers"]] == ["r1@example.com"]
    assert page.body["next_cursor"] != cursor

    # And once the old key is retired, the old cursor is refused like any forged one
    _rotate([])
    refused = api.readers(limit="1", cursor=cursor)
    assert refused.status == 400 and refused.body["error_type"] == "invalid_cursor"


def test_console_csrf_tokens_survive_a_rotation(api, outbox):
    from test_console import _call, _sign_in

    cookie, csrf = _sign_in(api, outbox)
    _rotate([_current_key()])
    done = _call(api, "POST", "/console/api/readers", cookie=cookie, csrf=csrf, body={"email": "ada@example.com"})
    assert done["statusCode"] == 200


def test_idempotency_seals_from_before_this_signer_still_open(api):
    # The seal's keys are HMAC(token key, purpose), as before keyring.py: records already stored still open.
    import hashlib
    import hmac

    from magiclink import keyring

    key = credentials.token_key()
    assert (
        keyring.derived_keys("idempotency-record")[0] == hmac.new(key, b"idempotency-record", hashlib.sha256).digest()
    )
