"""POST /v1/magic_links/email/invite through its lambda_handler, against moto provisioned from the template."""

from __future__ import annotations

import json

from stytch.consumer.models.magic_links_email import InviteResponse
from support import last_token, table_items, token_of


def _readers() -> list[dict]:
    return [i for i in table_items() if i["sk"]["S"] == "USER"]


def test_invite_creates_a_pending_user_and_emails_a_link(api, outbox):
    # Given a new email
    # When it is invited
    reply = api.invite("  ada@Example.COM ", name={"first_name": "Ada", "last_name": "Lovelace"})

    # Then the answer is Stytch's invite response
    assert reply.status == 200
    parsed = InviteResponse.from_json(reply.status, reply.body)
    assert parsed.user_id.startswith("user-test-") and parsed.email_id.startswith("email-test-")
    assert reply.body["grant_id"].startswith("grant-test-")
    assert reply.body["request_id"] == "request-id-example-invite"

    # And DynamoDB holds one pending reader under the normalised email, and its pointer
    (reader,) = _readers()
    assert reader["email"]["S"] == "ada@example.com"
    assert reader["user_status"]["S"] == "pending" and reader["grant_status"]["S"] == "pending"
    assert reader["user_id"]["S"] == parsed.user_id
    pointers = [i for i in table_items() if i["sk"]["S"] == "EMAIL"]
    assert [p["pk"]["S"] for p in pointers] == ["EMAIL#ada@example.com"]

    # And SES took one email to that address, with the link in both parts
    (mail,) = outbox.messages()
    assert mail.to == ["ada@example.com"]
    assert "Magic Link" in mail.subject
    link = mail.links[0]
    assert link.startswith("http://127.0.0.1:3000/v1/magic_links/redirect?token=")  # the scanner-proof page
    assert link in mail.text and link in mail.html
    assert "Ada Lovelace" in mail.text

    # And only a keyed hash of the token is stored, never the token
    token = token_of(link)
    assert len(token) == 64
    assert token not in json.dumps(table_items())
    assert len(reader["link_hash"]["S"]) == 64


def test_reinviting_a_pending_user_replaces_the_link(api, outbox):
    # Given a pending invite
    first = api.invite()
    old_token = last_token(outbox)

    # When the same email is invited again
    second = api.invite(" ada@EXAMPLE.com")
    new_token = last_token(outbox)

    # Then it is the same user, with a new link; the old link no longer works
    assert second.status == 200
    assert second.body["user_id"] == first.body["user_id"]
    assert second.body["grant_renewed"] is False
    assert new_token != old_token
    assert len(_readers()) == 1
    assert api.authenticate(old_token).status == 401
    assert api.authenticate(new_token).status == 200


def test_invite_updates_the_profile_it_is_given_and_keeps_the_rest(api, outbox):
    api.invite(name={"first_name": "Ada"}, trusted_metadata={"plan": "team", "seats": 1.5})
    api.invite(untrusted_metadata={"theme": "dark"})

    user = api.authenticate(last_token(outbox)).body["user"]

    assert user["name"]["first_name"] == "Ada"
    assert user["trusted_metadata"] == {"plan": "team", "seats": 1.5}
    assert user["untrusted_metadata"] == {"theme": "dark"}


def test_delivery_none_returns_the_link_and_sends_nothing(api, outbox):
    reply = api.invite(delivery="none")

    assert reply.status == 200
    assert outbox.messages() == []
    assert api.authenticate(token_of(reply.body["magic_link_url"])).status == 200


def test_an_allow_listed_redirect_url_is_used_and_others_are_refused(api, outbox, monkeypatch):
    from magiclink import settings

    monkeypatch.setenv("REDIRECT_URLS", "https://docs.example.com/auth,https://app.example.com/callback?x=1")
    settings.get_settings.cache_clear()

    ok = api.invite(invite_magic_link_url="https://app.example.com/callback?next=%2Fhome")
    assert ok.status == 200
    (reader,) = [i for i in table_items() if i["sk"]["S"] == "USER"]
    assert reader["link_url"]["S"] == "https://app.example.com/callback?next=%2Fhome"

    refused = api.invite(invite_magic_link_url="https://evil.example.com/callback")
    assert refused.status == 400
    assert refused.body["error_type"] == "invalid_invite_magic_link_url"


def test_no_url_and_no_default_is_refused(api, monkeypatch):
    from magiclink import settings

    monkeypatch.setenv("REDIRECT_URLS", "")
    settings.get_settings.cache_clear()

    reply = api.invite()

    assert reply.status == 400
    assert reply.body["error_type"] == "no_default_invite_redirect_url_set"
    assert table_items() == []


def test_an_unknown_template_id_is_refused_before_anything_is_written(api, outbox):
    reply = api.invite(invite_template_id="welcome_v2")

    assert reply.status == 400
    assert reply.body["error_type"] == "invalid_template_id"
    assert table_items() == [] and outbox.messages() == []


def test_a_refused_sender_gives_a_clear_400(api, outbox):
    import boto3

    # Given SES no longer accepts the deployment's sender identity
    boto3.client("ses").delete_identity(Identity="example.com")

    reply = api.invite()

    assert reply.status == 400
    assert reply.body["error_type"] == "email_rejected"
    assert outbox.messages() == []


def test_a_reinvite_emails_the_name_it_was_just_given(api, outbox):
    api.invite()
    api.invite(name={"first_name": "Ada", "last_name": "Lovelace"}, locale="fr")

    mail = outbox.messages()[-1]
    assert "Ada Lovelace" in mail.text
    assert mail.subject.startswith("Invitation")


def test_a_new_invite_is_one_transaction_and_one_update_besides_the_email(api, outbox, aws_calls):
    reply = api.invite("new@example.com")

    calls = {op: n for (service, op), n in aws_calls.items() if service in ("dynamodb", "sesv2")}
    # the email claimed, the reader written and the rate limits counted together; the email; its delivery
    assert reply.status == 200
    assert calls == {"TransactWriteItems": 1, "SendEmail": 1, "UpdateItem": 1}


def test_an_email_pointer_whose_reader_is_gone_is_taken_over_by_a_new_invite(api, outbox):
    import boto3

    from local import stack

    first = api.invite("ada@example.com", delivery="none")
    table = stack.local_names()["Table"]
    # A revoked invite that expiry removed half of: the pointer is left, its reader is not
    boto3.client("dynamodb").delete_item(
        TableName=table, Key={"pk": {"S": f"USER#{first.body['user_id']}"}, "sk": {"S": "USER"}}
    )

    again = api.invite("ada@example.com")

    assert again.status == 200 and again.body["user_id"] != first.body["user_id"]
    pointer = [i for i in table_items() if i["pk"]["S"] == "EMAIL#ada@example.com"]
    assert pointer[0]["user_id"]["S"] == again.body["user_id"]
    assert api.authenticate(last_token(outbox)).status == 200
