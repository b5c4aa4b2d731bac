"""Readers asking for a link, and strangers asking the owner for access (public endpoints).

A live grant gets a new link by email. Anyone else gets the deployment's message and, where enabled,
the owner gets an email with a signed, expiring link to a page that grants access in one click.
In `uniform` mode every request gets the same answer after the same time, so that nobody can learn
from it whether an email has access.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cache
from urllib.parse import urlencode

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, codes, grants, keyring, limits, mailer, site, store
from .errors import EmailBounced, EmailNotFound, GrantNotActive, ServiceError, TooManyRequests
from .models.mapping import access_request_view_of
from .models.requests import InviteRequest, ReaderLinkRequest, RequestLinkRequest
from .models.responses import AccessRequestView
from .observability import logger, metrics
from .settings import get_settings

GRANT_LINK_DAYS = 7
ACCESS_REQUEST_RETENTION_DAYS = 30
UNIFORM_MESSAGE = "If this address has access, a sign-in link is on its way. Check your inbox."
_SAFE_TAGS = {"a", "b", "strong", "i", "em", "p", "br", "ul", "ol", "li", "code"}


@dataclass(frozen=True)
class Outcome:
    outcome: str  # link_sent | access_requested | no_access | accepted
    message_html: str
    code_ticket: str = ""  # for the page's code form: set when a link (and its code) may be on its way


def configured_message() -> str:
    """The deployment's message for people without access, cut down to a safe subset of HTML."""
    return _sanitised(get_settings().access_request_message)


@cache
def _sanitised(html: str) -> str:
    import nh3  # only the public request path needs it

    return nh3.clean(
        html,
        tags=_SAFE_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )


def grant_signature(email: str, expires: int) -> str:
    return keyring.signature("grant-access", f"{email}|{expires}")


def grant_link(email: str, now: int) -> str:
    expires = now + GRANT_LINK_DAYS * 86400
    query = urlencode({"email": email, "expires": expires, "sig": grant_signature(email, expires)})
    return f"{get_settings().public_base_url}/v1/access_requests/grant?{query}"


def grant_link_valid(email: str, expires: int, signature: str) -> bool:
    return expires > clock.now() and keyring.signature_valid("grant-access", f"{email}|{expires}", signature)


def _stranger(email: str, now: int) -> str:
    """Record the request and tell the owner; returns the outcome. Raises TooManyRequests in the cooldown."""
    settings = get_settings()
    recorded = store.access_requests.record(
        email,
        now=now,
        not_since=now - settings.request_cooldown_seconds,
        delete_at=now + ACCESS_REQUEST_RETENTION_DAYS * 86400,
    )
    if not recorded:
        raise TooManyRequests(headers={"Retry-After": str(settings.request_cooldown_seconds)})
    metrics.add_metric(name="AccessRequests", unit=MetricUnit.Count, value=1)
    if not (settings.notify_owner and settings.owner_email):
        return "no_access"
    rendered = mailer.render(
        "access_request",
        "en",
        minutes=GRANT_LINK_DAYS * 1440,
        project=settings.project_name,
        requester=email,
        link=grant_link(email, now),
    )
    mailer.send(settings.owner_email, rendered)
    return "access_requested"


def _answer(request: RequestLinkRequest, target: str | None) -> Outcome:
    settings = get_settings()
    try:
        grants.send_link(
            request.email,
            ReaderLinkRequest(locale=request.locale, magic_link_url=target),
            by="self-service",
            cooldown=settings.request_cooldown_seconds,
            counted=True,
        )
        metrics.add_metric(name="LinkRequests", unit=MetricUnit.Count, value=1)
        return Outcome("link_sent", "A new sign-in link is on its way. Check your inbox.")
    except (EmailNotFound, GrantNotActive, EmailBounced):
        return Outcome(_stranger(request.email, clock.now()), configured_message())


def _target(next_path: str | None) -> str | None:
    """Where the link of a request goes: the site's page when the request names one (`next`, which the site's
    gate sends strangers with) or when the site is all the deployment serves (no RedirectUrls); else the
    deployment's default target, as for any link (None)."""
    if next_path or (next_path is not None and get_settings().default_redirect_url is None):
        return site.page_url(next_path)
    return None


def request_link(request: RequestLinkRequest, *, source_ip: str, next_path: str | None = None) -> Outcome:
    """The public request. `next_path` (the /access form's, when the deployment has a private site) is the
    site's page the link brings the reader back to (see _target).

    In uniform mode the answer, and the time it takes, say nothing about the email: not even when its
    link, or the owner's email, could not be sent (that is logged and counted instead).

    Every request counts against the public rate limits first, whether or not the email has access, so a
    429 says nothing about it either; none of them is an authenticated caller's.
    """
    settings = get_settings()
    asked = clock.now()  # before the link is issued: the ticket covers the code of a link issued since
    limits.take_public(asked, email=request.email, ip=source_ip)
    ticket = codes.ticket(request.email, asked)
    target = _target(next_path)
    if settings.request_response_mode == "explicit":
        answer = _answer(request, target)
        return replace(answer, code_ticket=ticket) if answer.outcome == "link_sent" else answer
    deadline = time.monotonic() + settings.uniform_response_ms / 1000
    try:
        _answer(request, target)
    except TooManyRequests:
        logger.info("request within cooldown, answered uniformly")
    except ServiceError as failed:
        # A reader's link SES refused (or any other failure) would otherwise tell them apart from a stranger.
        metrics.add_metric(name="LinkRequestsFailed", unit=MetricUnit.Count, value=1)
        logger.warning("request failed, answered uniformly", extra={"error_type": failed.error_type})
    time.sleep(max(0.0, deadline - time.monotonic()))
    return Outcome("accepted", UNIFORM_MESSAGE, ticket)  # a ticket for every email: it says nothing


@dataclass(frozen=True)
class FormAnswer:
    """What the /access form answers an email: the message (`trusted`: the deployment's sanitised HTML), its
    status and headers, and the ticket for the code step when a link may be on its way."""

    message: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    code_ticket: str = ""
    trusted: bool = False


def answer_form(email: str, *, source_ip: str, next_path: str | None = None) -> FormAnswer:
    """The /access form's request: request_link for the typed email, its refusals worded for the page."""
    from pydantic import ValidationError

    try:
        request = RequestLinkRequest(email=email)
    except ValidationError:
        return FormAnswer("That doesn't look like an email address.", 400)
    try:
        outcome = request_link(request, source_ip=source_ip, next_path=next_path)
    except TooManyRequests as refused:
        return FormAnswer("You asked very recently. Wait a while, then try again.", 429, refused.headers)
    return FormAnswer(outcome.message_html, code_ticket=outcome.code_ticket, trusted=True)


def grant_request(email: str) -> grants.Invited:
    """The owner confirmed: invite the requester (a reader, access without expiry), emailing them a link."""
    invited = grants.invite(InviteRequest(email=email), by="owner")
    store.access_requests.resolve(email, status="granted")
    return invited


def pending_requests() -> list[AccessRequestView]:
    """Strangers' requests still waiting for the owner, in email order."""
    return [access_request_view_of(record) for record in store.access_requests.pending()]


def dismiss_request(email: str) -> None:
    """The owner declined: the request is marked dismissed (and kept until its retention passes)."""
    store.access_requests.resolve(email, status="dismissed")
