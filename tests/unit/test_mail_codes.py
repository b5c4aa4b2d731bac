"""The one-time code in the link emails: shown in both parts with its lifetime in the email's language,
absent when the email carries none, always plain escaped text."""

from __future__ import annotations

import re

import pytest
from jinja2 import UndefinedError

from magiclink import durations, mailer
from magiclink.resources import TEMPLATES

LOCALES = ["en", "es", "fr", "pt-br"]
# The emails that carry a magic link for their reader; access_request's link is the owner's, revoked has none.
LINK_EMAILS = ["invite", "login"]
NO_LINK_EMAILS = ["access_request", "revoked"]
LINK = "https://docs.example.com/v1/magic_links/redirect?token=abc123456def"  # six digits inside: not a code
CODE = "482913"
LINK_MINUTES = 3 * 1440
CODE_MINUTES = 75  # worded differently in every locale: "1 hour and 15 minutes", "1 hora y 15 minutos", ...


pytestmark = pytest.mark.usefixtures("mail_settings")


def _render(template_id: str, locale: str = "en", **overrides: object) -> mailer.Rendered:
    context: dict[str, object] = {
        "invite": {"project": "Example Docs", "name": "Ada", "inviter": "", "link": LINK, "reusable": False},
        "login": {"project": "Example Docs", "name": "Ada", "inviter": "", "link": LINK, "reusable": False},
        "access_request": {"project": "Example Docs", "requester": "grace@example.org", "link": LINK},
        "revoked": {"project": "Example Docs", "name": "Ada"},
    }[template_id]
    if template_id != "revoked":
        context["minutes"] = LINK_MINUTES
    return mailer.render(template_id, locale, **{**context, **overrides})


def _code_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.fullmatch(r"\s*[0-9]{6}\s*", line)]


def test_every_link_email_is_tested():
    emails = {p.name.removesuffix(".html") for p in (TEMPLATES / "en").glob("*.html")}
    assert emails == set(LINK_EMAILS) | set(NO_LINK_EMAILS)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template_id", LINK_EMAILS)
def test_a_link_email_shows_its_code_in_both_parts_with_its_lifetime_in_the_locale(template_id, locale):
    rendered = _render(template_id, locale, code=CODE, code_minutes=CODE_MINUTES)
    lifetime = durations.describe(CODE_MINUTES, locale)
    assert lifetime != durations.describe(CODE_MINUTES, "en") or locale == "en"

    # Text: the code alone on its line, easy to copy; its lifetime in words; the link still there
    assert _code_lines(rendered.text) == [CODE]
    assert rendered.text.count(CODE) == 1 and lifetime in rendered.text and LINK in rendered.text
    # HTML: once, as one run of plain digits in a large monospace, letter-spaced block, before the fallback text
    (block,) = re.findall(rf'<span style="([^"]*)">{CODE}</span>', rendered.html)
    assert rendered.html.count(CODE) == 1
    assert "monospace" in block and "letter-spacing" in block and re.search(r"font-size:(2[4-9]|[3-9]\d)px", block)
    assert lifetime in rendered.html
    assert rendered.html.index(CODE) < rendered.html.index(durations.describe(LINK_MINUTES, locale))
    assert rendered.html.count(f'href="{LINK}"') == 2  # the button and the fallback link stay


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template_id", LINK_EMAILS)
def test_a_link_email_without_a_code_shows_no_code_block(template_id, locale):
    lifetime = durations.describe(CODE_MINUTES, locale)
    without = _render(template_id, locale, code="", code_minutes=CODE_MINUTES)

    assert _code_lines(without.text) == []
    assert "monospace" not in without.html and "letter-spacing" not in without.html
    assert lifetime not in without.text and lifetime not in without.html
    # Not given at all is the same as "" (the callers that send no code need not name it)
    assert _render(template_id, locale) == without
    # The code block (what to do, the code, its lifetime) is all the code adds to the text part
    with_code = _render(template_id, locale, code=CODE, code_minutes=CODE_MINUTES)
    paragraphs = with_code.text.split("\n\n")
    at = paragraphs.index(CODE)
    assert paragraphs[: at - 1] + paragraphs[at + 2 :] == without.text.split("\n\n")
    assert without.subject == with_code.subject


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template_id", LINK_EMAILS)
def test_the_code_is_written_as_plain_escaped_text(template_id, locale):
    hostile = '<b onmouseover="x()">1</b>'
    rendered = _render(template_id, locale, code=hostile, code_minutes=CODE_MINUTES)

    assert "<b " not in rendered.html
    assert "&lt;b onmouseover=&#34;x()&#34;&gt;1&lt;/b&gt;" in rendered.html
    assert hostile in rendered.text.splitlines()
    # A real code stays one run of digits: nothing (a tag, a space) splits it for the reader to copy
    assert re.search(rf">{CODE}<", _render(template_id, locale, code=CODE, code_minutes=CODE_MINUTES).html)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template_id", LINK_EMAILS)
def test_a_code_without_its_lifetime_does_not_render(template_id, locale):
    with pytest.raises(UndefinedError, match="code_expires_in"):
        _render(template_id, locale, code=CODE)


@pytest.mark.parametrize("template_id", NO_LINK_EMAILS)
def test_emails_without_a_link_for_their_reader_never_show_a_code(template_id):
    rendered = _render(template_id, code=CODE, code_minutes=CODE_MINUTES)
    assert CODE not in rendered.text and CODE not in rendered.html
