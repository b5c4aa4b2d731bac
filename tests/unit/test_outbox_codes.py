"""The local outbox lists the one-time codes a message carries under `codes`, beside `links`, and shows them."""

from __future__ import annotations

import pytest
from test_mail_codes import CODE, CODE_MINUTES, LINK, LINK_EMAILS, LOCALES, NO_LINK_EMAILS, _render

from local import outbox_page, stack
from magiclink import mailer

pytestmark = pytest.mark.usefixtures("mail_settings")


def _sent(rendered: mailer.Rendered) -> stack.Mail:
    """The message as SES would take it, read back as the local outbox reads it."""
    raw = mailer.build_message("ada@example.com", rendered).as_string()
    return stack._parse("message-1", raw)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template_id", LINK_EMAILS)
def test_the_outbox_lists_the_code_a_message_carries(template_id, locale):
    mail = _sent(_render(template_id, locale, code=CODE, code_minutes=CODE_MINUTES))

    assert mail.codes == [CODE]
    assert mail.as_json()["codes"] == [CODE] and mail.as_json()["links"] == [LINK]


@pytest.mark.parametrize("template_id", [*LINK_EMAILS, *NO_LINK_EMAILS])
def test_the_outbox_lists_no_code_for_a_message_without_one(template_id):
    mail = _sent(_render(template_id, code="", code_minutes=CODE_MINUTES))

    assert mail.codes == [] and mail.as_json()["codes"] == []


def test_a_six_digit_line_the_html_does_not_show_is_not_a_code():
    rendered = _render("login", code=CODE, code_minutes=CODE_MINUTES)
    text_only = mailer.Rendered(rendered.subject, rendered.html.replace(CODE, "000000"), rendered.text)
    in_a_sentence = mailer.Rendered(
        rendered.subject, rendered.html, rendered.text.replace(f"\n{CODE}\n", f"\nx {CODE}\n")
    )

    assert _sent(text_only).codes == []
    assert _sent(in_a_sentence).codes == []


def test_the_outbox_page_shows_the_codes_escaped():
    mail = _sent(_render("login", code=CODE, code_minutes=CODE_MINUTES))
    status, page = outbox_page.render([mail], mail.message_id)

    assert status == 200 and f'<dt>Code</dt>\n<dd><code class="code">{CODE}</code></dd>' in page
    _, listing = outbox_page.render([mail])
    assert "<dt>Code" not in listing  # only the open message shows its codes

    without = _sent(_render("login"))
    assert "<dt>Code" not in outbox_page.render([without], without.message_id)[1]


def test_only_six_digits_alone_on_a_text_line_are_a_code():
    """Whitespace around the code and CRLF line ends are fine; longer, shorter or embedded numbers are not codes."""
    from email.message import EmailMessage

    numbers = ["\t482913  ", "1234567", "12345", "654321 and more", "order 111222", "٤٨٢٩١٣"]
    message = EmailMessage()
    message["To"] = "ada@example.com"
    message.set_content("\r\n".join(["Hello,", *numbers, f"{LINK}"]))
    message.add_alternative("".join(f"<p>{n.strip()}</p>" for n in numbers) + "<p>333444</p>", subtype="html")

    assert stack._parse("message-1", message.as_string()).codes == ["482913"]
