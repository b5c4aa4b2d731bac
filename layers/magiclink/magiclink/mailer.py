"""The one module that talks to SES: renders a template and sends it as a two-part MIME message."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import durations
from .errors import EmailDeliveryFailed, EmailRejected, EmailThrottled, InvalidTemplateId
from .resources import TEMPLATES
from .settings import get_settings

_REJECTED = {"MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException"}


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


@cache
def _environment():
    # Imported here: only functions that send mail pay for jinja2 at cold start.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def template_exists(template_id: str, locale: str = "en") -> bool:
    return (TEMPLATES / locale / f"{template_id}.html").is_file()


def render(
    template_id: str,
    locale: str,
    *,
    minutes: int | None = None,
    code_minutes: int | None = None,
    **context: object,
) -> Rendered:
    """Render `<locale>/<template_id>.{subject.txt,html,txt}`; English when the locale has none.

    `minutes` becomes `expires_in` and `code_minutes` `code_expires_in`, both worded in the language the
    template is actually rendered in. `code` is the one-time code the email carries (six digits) or ""
    for none, and "" when not given: the link emails then show no code block. A code given without
    `code_minutes` fails to render (StrictUndefined) rather than go out without its lifetime.
    """
    if not template_exists(template_id, locale):
        locale = "en"
    if not template_exists(template_id, locale):
        raise InvalidTemplateId()
    if minutes is not None:
        context["expires_in"] = durations.describe(minutes, locale)
    if code_minutes is not None:
        context["code_expires_in"] = durations.describe(code_minutes, locale)
    context.setdefault("code", "")
    env = _environment()
    subject = env.get_template(f"{locale}/{template_id}.subject.txt").render(**context)
    return Rendered(
        subject=" ".join(subject.split()),
        html=env.get_template(f"{locale}/{template_id}.html").render(**context),
        text=env.get_template(f"{locale}/{template_id}.txt").render(**context),
    )


def build_message(to: str, rendered: Rendered) -> EmailMessage:
    settings = get_settings()
    message = EmailMessage()
    # EmailMessage refuses CR/LF in header values, so nothing can smuggle in a header.
    message["From"] = Address(display_name=settings.sender_name, addr_spec=settings.sender_address)
    message["To"] = to
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.sender_address.rpartition("@")[2] or None)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


@cache
def _client():
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
    return boto3.client("sesv2", config=config)


def send(to: str, rendered: Rendered) -> str:
    """Hand the message to SES; returns its MessageId."""
    settings = get_settings()
    request: dict = {
        "FromEmailAddress": settings.sender_address,
        "Destination": {"ToAddresses": [to]},
        "Content": {"Raw": {"Data": build_message(to, rendered).as_bytes()}},
    }
    if settings.ses_configuration_set:
        request["ConfigurationSetName"] = settings.ses_configuration_set
    try:
        return _client().send_email(**request)["MessageId"]
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in _REJECTED:
            raise EmailRejected() from exc
        if code in _THROTTLED:  # botocore's own retries did not outlast it
            raise EmailThrottled(headers={"Retry-After": "1"}) from exc
        raise EmailDeliveryFailed() from exc
