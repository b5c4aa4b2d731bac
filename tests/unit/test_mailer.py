"""Rendering escapes what it interpolates; the message is two well-formed parts; headers take no CR/LF."""

from __future__ import annotations

import email
import email.policy

import pytest

from magiclink import mailer
from magiclink.errors import InvalidTemplateId

LINK = "https://docs.example.com/auth?token=abc&stytch_token_type=magic_links"


pytestmark = pytest.mark.usefixtures("mail_settings")


def _render(name: str, project: str = "Example Docs", inviter: str = "") -> mailer.Rendered:
    return mailer.render(
        "invite", "en", project=project, name=name, inviter=inviter, link=LINK, minutes=60, reusable=False
    )


@pytest.mark.parametrize(
    "name",
    ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "Ada & Co", "Zoë 🦊", "שלום עולם"],
)
def test_names_are_escaped_in_html_and_kept_in_text(name):
    rendered = _render(name)

    assert "<script>" not in rendered.html and "<img" not in rendered.html
    assert ("&" not in name and "<" not in name and '"' not in name) or name not in rendered.html
    assert name in rendered.text


def test_the_link_is_in_both_parts_and_html_escaped_in_html():
    rendered = _render("Ada")
    assert LINK in rendered.text
    assert LINK.replace("&", "&amp;") in rendered.html
    assert rendered.html.count('href="https://docs.example.com/auth?token=abc&amp;stytch_token_type=magic_links"') == 2


def test_the_message_has_a_text_and_an_html_part():
    message = mailer.build_message("ada@example.com", _render("Ada"))
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)

    assert parsed["To"] == "ada@example.com"
    assert parsed["From"] == "Example Docs <docs@example.com>"
    assert parsed["Subject"] == "You're invited to Example Docs"
    assert LINK in parsed.get_body(("plain",)).get_content()
    assert "Accept the invitation" in parsed.get_body(("html",)).get_content()


def test_a_subject_cannot_smuggle_a_header():
    rendered = _render("Ada", project="Docs\r\nBcc: eve@example.com")
    raw = mailer.build_message("ada@example.com", rendered).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)

    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "You're invited to Docs Bcc: eve@example.com"


def test_the_subject_names_the_inviter_and_an_inviter_cannot_smuggle_a_header():
    assert _render("Ada", inviter="Grace from Acme").subject == "Grace from Acme invited you to Example Docs"

    rendered = _render("Ada", inviter="Eve\r\nBcc: eve@example.com")
    parsed = email.message_from_bytes(
        mailer.build_message("ada@example.com", rendered).as_bytes(), policy=email.policy.default
    )

    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Eve Bcc: eve@example.com invited you to Example Docs"


def test_a_recipient_cannot_smuggle_a_header():
    with pytest.raises(ValueError):
        mailer.build_message("ada@example.com\r\nBcc: eve@example.com", _render("Ada"))


def test_an_unknown_template_is_refused():
    with pytest.raises(InvalidTemplateId):
        mailer.render("nope", "en", project="x", name="", inviter="", link=LINK, minutes=60, reusable=False)
