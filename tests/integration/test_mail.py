"""Mail: localised emails, Stytch's send, Reply-To, the revoke notice, and SES bounces and complaints."""

from __future__ import annotations

import copy
import email
import email.policy
import json

import pytest
from stytch.consumer.models.magic_links_email import SendResponse
from support import EVENTS, last_token

from local.stack import LambdaContext


def _feed(functions, name: str, address: str = "ada@example.com", **bounce_fields) -> dict:
    """An SES notification from events/ (as SNS delivers it) through the MailEvents function."""
    event = copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    kind = "bounce" if "bounce" in message else "complaint"
    key = "bouncedRecipients" if kind == "bounce" else "complainedRecipients"
    message[kind][key][0]["emailAddress"] = address
    message[kind].update(bounce_fields)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    fn = functions.functions["MailEventsFunction"]
    return functions.handler("MailEventsFunction")(event, LambdaContext(fn))


def _reader(api, email_address: str = "ada@example.com") -> dict:
    return next(r for r in api.readers().body["readers"] if r["email"] == email_address)


def test_a_hard_bounce_marks_the_reader_and_stops_later_invites_unless_forced(api, outbox, functions):
    api.invite()
    assert _reader(api)["email_status"] == "deliverable"

    counts = _feed(functions, "ses_bounce", "ada@EXAMPLE.com")  # the domain's case never matters

    assert counts["bounced"] == 1 and counts["marked"] == 1
    assert _reader(api)["email_status"] == "bounced"
    sent = len(outbox.messages())
    refused = api.invite()
    assert refused.status == 400 and refused.body["error_type"] == "email_bounced"
    assert api.new_link("ada@example.com").body["error_type"] == "email_bounced"
    assert len(outbox.messages()) == sent

    forced = api.invite(force=True)
    assert forced.status == 200
    assert len(outbox.messages()) == sent + 1
    assert _reader(api)["email_status"] == "deliverable"


def test_a_soft_bounce_is_only_counted(api, functions):
    api.invite()
    counts = _feed(functions, "ses_bounce", bounceType="Transient", bounceSubType="MailboxFull")
    assert counts["soft_bounced"] == 1 and counts["marked"] == 0
    assert _reader(api)["email_status"] == "deliverable"


def test_a_complaint_marks_the_reader(api, functions):
    api.invite()
    counts = _feed(functions, "ses_complaint")
    assert counts["complained"] == 1
    assert _reader(api)["email_status"] == "complained"


def test_events_for_unknown_addresses_are_counted_and_ignored(api, functions):
    counts = _feed(functions, "ses_bounce", "nobody@example.com")
    assert counts["unknown"] == 1 and counts["marked"] == 0


def test_a_bounced_reader_asking_for_a_link_gets_none(api, outbox, functions, clock):
    api.invite(delivery="none")
    _feed(functions, "ses_bounce")
    clock.advance(61)
    reply = api.request_link("ada@example.com")
    assert reply.body["outcome"] != "link_sent"
    assert all(m.to != ["ada@example.com"] for m in outbox.messages())


def test_send_gives_a_live_reader_a_login_link_stytch_style(api, outbox):
    api.invite(locale="es", name={"first_name": "Ana"})
    first = last_token(outbox)

    reply = api.send("send", {"email": "ada@example.com", "login_expiration_minutes": 90})

    assert reply.status == 200
    SendResponse.from_json(reply.status, reply.body)
    mail = outbox.messages()[-1]
    assert mail.subject == "Tu enlace para iniciar sesión en Magic Link"
    assert "1 hora y 30 minutos" in mail.text
    assert api.authenticate(first).status == 401
    assert api.authenticate(last_token(outbox)).status == 200


@pytest.mark.parametrize(
    ("body", "status", "error_type"),
    [
        ({"email": "nobody@example.com"}, 404, "email_not_found"),
        ({"email": "ada@example.com", "login_template_id": "nope"}, 400, "invalid_template_id"),
        ({"email": "ada@example.com", "login_expiration_minutes": 2}, 400, "invalid_expiration"),
        ({"email": "ada@example.com", "login_expiration_minutes": "60"}, 400, "bad_request"),
        (
            {"email": "ada@example.com", "login_magic_link_url": "https://evil.example/"},
            400,
            "invalid_login_magic_link_url",
        ),
        ({"email": "ada@example.com", "user_id": "user-test-x"}, 400, "duplicate_email"),
    ],
)
def test_send_refuses_cleanly(api, body, status, error_type):
    api.invite(delivery="none")
    reply = api.send("send", body)
    assert reply.status == status and reply.body["error_type"] == error_type


@pytest.mark.parametrize(
    ("locale", "subject", "expiry"),
    [
        ("en", "You're invited to Magic Link", "expires in 2 hours"),
        ("es", "Te han invitado a Magic Link", "2 horas"),
        ("fr", "Invitation à rejoindre Magic Link", "2 heures"),
        ("pt-BR", "Convite para acessar Magic Link", "2 horas"),
    ],
)
def test_invites_are_in_the_readers_language(api, outbox, locale, subject, expiry):
    api.invite(locale=locale, invite_expiration_minutes=120)
    mail = outbox.messages()[-1]
    assert mail.subject == subject
    assert expiry in mail.text and expiry in mail.html
    assert mail.links[0] in mail.text and mail.links[0] in mail.html


@pytest.mark.parametrize(
    "name",
    ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "Zoë 🦊", "مرحبا", "Ada & Co"],
)
def test_hostile_or_unusual_names_keep_the_email_well_formed(api, outbox, name):
    reply = api.invite(name={"first_name": name})
    assert reply.status == 200

    raw = outbox._backend().sent_messages[-1].raw_data
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["To"] == "ada@example.com"
    html = parsed.get_body(("html",)).get_content()
    assert "<script>" not in html and "<img src=x" not in html
    assert name in parsed.get_body(("plain",)).get_content()


@pytest.mark.parametrize("name", ["Ada\r\nBcc: eve@example.com", "Ada\nLovelace", "Ada\x00"])
def test_names_with_control_characters_are_refused(api, outbox, name):
    reply = api.invite(name={"first_name": name})
    assert reply.status == 400 and "name.first_name" in reply.body["error_message"]
    assert outbox.messages() == []


def test_a_ten_thousand_character_name_is_refused_cleanly(api, outbox):
    reply = api.invite(name={"first_name": "A" * 10_000})
    assert reply.status == 400 and "name.first_name" in reply.body["error_message"]
    assert outbox.messages() == []


def test_reply_to_is_set_when_configured(api, outbox, configure):
    configure(REPLY_TO="docs@example.com")
    api.invite()
    parsed = email.message_from_string(outbox._backend().sent_messages[-1].raw_data, policy=email.policy.default)
    assert parsed["Reply-To"] == "docs@example.com"


def test_revoked_readers_are_told_once_when_the_deployment_asks(api, outbox, configure):
    configure(NOTIFY_ON_REVOKE="true")
    api.invite(locale="fr", delivery="none")

    api.revoke_access("ada@example.com")
    api.revoke_access("ada@example.com")

    notices = [m for m in outbox.messages() if m.to == ["ada@example.com"]]
    assert len(notices) == 1
    assert notices[0].subject == "Votre accès à Magic Link a pris fin"


def test_no_revoke_notice_by_default(api, outbox):
    api.invite(delivery="none")
    api.revoke_access("ada@example.com")
    assert outbox.messages() == []
