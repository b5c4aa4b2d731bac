"""A link's email: rendered, sent through the mailer, and what became of it recorded on the link
(sent with SES's message id, or failed), so a reader's row can say whether their link went out."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, links, mailer, store
from .codes import Code
from .errors import EmailDeliveryFailed, EmailRejected, ServiceError
from .models.items import Reader
from .observability import logger, metrics
from .settings import get_settings


def deliver(
    reader: Reader,
    token: str,
    delivery: str,
    template_id: str,
    locale: str | None,
    minutes: int,
    reusable: bool,
    *,
    code: Code | None = None,
) -> str:
    """After a link is written: the URL the person opens, emailed unless delivery is `none` (with its one-time
    `code`, and how long that works).

    The link was written `sending`; what became of its email is recorded on it: sent, or failed (and the
    caller gets the error). A send that dies on the way leaves it `sending`, which reads as not delivered
    once no function could still be running it. Either way a re-link or a retried invite sends a new one.
    """
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    url = links.landing_url(token, reader.link_url)
    if delivery != "email":
        return url
    try:
        message_id = _send(
            template_id,
            reader,
            locale,
            url=url,
            minutes=minutes,
            reusable=reusable,
            code=code.code if code else "",
            code_minutes=code.minutes(clock.now()) if code and code.code else None,
        )
    except (EmailRejected, EmailDeliveryFailed) as failed:
        metrics.add_metric(name="EmailsFailed", unit=MetricUnit.Count, value=1)
        _record(reader, error=failed.error_type)
        raise
    _record(reader, message_id=message_id)
    return url


def _record(reader: Reader, **outcome: str) -> None:
    """Mark the link sent or failed. The caller must hear what became of the email whatever the table
    says: a mark that cannot be written leaves the link `sending`, which reads as not delivered later."""
    try:
        store.links.mark_delivery(reader.user_id, reader.link_hash or "", at=clock.now(), **outcome)
    except ServiceError:
        logger.warning("link delivery not recorded", extra={"outcome": "failed" if "error" in outcome else "sent"})


def _send(
    template_id: str,
    reader: Reader,
    locale: str | None,
    *,
    url: str,
    minutes: int,
    reusable: bool,
    code: str,
    code_minutes: int | None,
) -> str:
    rendered = mailer.render(
        template_id,
        locale or reader.locale,
        project=get_settings().project_name,
        name=" ".join(p for p in (reader.name.first_name, reader.name.last_name) if p),
        inviter=reader.inviter_name or "",
        link=url,
        minutes=minutes,
        reusable=reusable,
        code=code,
        code_minutes=code_minutes,
    )
    message_id = mailer.send(reader.email, rendered)
    metrics.add_metric(name="EmailsSent", unit=MetricUnit.Count, value=1)
    return message_id
