"""Rate limits: the contract's caps, counted in DynamoDB so that every Lambda container sees the same count.

Each link an authenticated caller issues (invite, send, re-link, a console action) counts against its
email (at most one a second, `email_links_per_hour` an hour) and the project (`project_links_per_hour`).
A public request (self-service, the console's sign-in form) counts against budgets of its own instead:
its email (one a second, `public_email_requests_per_hour`), its source IP (`ip_requests_per_hour`; an
IPv6 address by its /64) and the project's public allowance (`public_project_requests_per_hour`), so that
nothing an anonymous caller does can make an admin's call answer 429.
A one-time code typed on a public page counts against budgets of its own too (its email's and its
network's, each MAX_CODE_TRIES times the public request budgets), so that guessing spends no link request.
The counters are fixed one-hour windows, all counted or none in one conditional write, before anything
else happens: a refused request changes nothing and spends nobody else's allowance.
"""

from __future__ import annotations

import ipaddress

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, store
from .errors import TooManyRequests
from .models.fields import email_identity
from .observability import logger, metrics
from .settings import get_settings

WINDOW = 3600
EMAIL_SPACING = 1  # seconds: "at most 1 per second per email"

_REFUSALS = {
    "email": "Too many links for this email address.",
    "project": "This project has issued as many links as it may this hour.",
    "public-email": "Too many requests for this email address.",
    "public-ip": "Too many requests from this network.",
    "public-project": "This project has answered as many requests as it may this hour.",
    "public-code-email": "Too many codes tried for this email address.",
    "public-code-ip": "Too many codes tried from this network.",
}


def _network(ip: str) -> str:
    """The unit a per-IP limit counts: the address, or an IPv6 address's /64 (one subscriber's prefix)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def email_subject(email: str) -> str:
    """The counter subject an email's links count against (its items hold the email, so erasure deletes them)."""
    return f"email#{email_identity(email)}"


def public_email_subject(email: str) -> str:
    """The counter subject public requests for an email count against (erasure deletes these too)."""
    return f"public-email#{email_identity(email)}"


def public_code_subject(email: str) -> str:
    """The counter subject codes typed on a public page for an email count against (erasure deletes these)."""
    return f"public-code-email#{email_identity(email)}"


def counters(now: int, *, email: str) -> list[store.counters.Counter]:
    """The counters one link for `email`, issued by an authenticated caller, counts against."""
    settings = get_settings()
    start = now - now % WINDOW
    return [
        store.counters.Counter(
            email_subject(email), start, WINDOW, settings.email_links_per_hour, EMAIL_SPACING, at_ms=clock.now_ms()
        ),
        store.counters.Counter("project", start, WINDOW, settings.project_links_per_hour),
    ]


def public_counters(now: int, *, email: str, ip: str) -> list[store.counters.Counter]:
    """The counters one public request for `email` from `ip` counts against: none of them an admin's."""
    settings = get_settings()
    start = now - now % WINDOW
    return [
        store.counters.Counter(
            public_email_subject(email),
            start,
            WINDOW,
            settings.public_email_requests_per_hour,
            EMAIL_SPACING,
            at_ms=clock.now_ms(),
        ),
        store.counters.Counter(f"public-ip#{_network(ip)}", start, WINDOW, settings.ip_requests_per_hour),
        store.counters.Counter("public-project", start, WINDOW, settings.public_project_requests_per_hour),
    ]


def take_code_attempt(now: int, *, email: str, ip: str) -> None:
    """Count one code typed on a public page; TooManyRequests (429, Retry-After) when a budget is spent."""
    from .models.items import MAX_CODE_TRIES

    settings = get_settings()
    start = now - now % WINDOW
    _count(
        [
            store.counters.Counter(
                public_code_subject(email), start, WINDOW, settings.public_email_requests_per_hour * MAX_CODE_TRIES
            ),
            store.counters.Counter(
                f"public-code-ip#{_network(ip)}", start, WINDOW, settings.ip_requests_per_hour * MAX_CODE_TRIES
            ),
        ],
        now,
    )


def take(now: int, *, email: str) -> None:
    """Count an authenticated caller's link against its limits; TooManyRequests (429, Retry-After) when one is spent."""
    _count(counters(now, email=email), now)


def take_public(now: int, *, email: str, ip: str) -> None:
    """Count one public request against the public limits; TooManyRequests (429, Retry-After) when one is spent."""
    _count(public_counters(now, email=email, ip=ip), now)


def _count(chosen: list[store.counters.Counter], now: int) -> None:
    try:
        store.counters.count(chosen, now=now)
    except store.counters.LimitReached as reached:
        raise refusal(reached, now) from None


def refusal(reached: store.counters.LimitReached, now: int) -> TooManyRequests:
    counter = reached.counter
    if reached.hits >= counter.limit:
        wait = counter.start + counter.window - now
    else:  # too soon after the last hit: the rest of the rolling interval, in whole seconds
        wait = -(-(reached.last_ms + counter.spacing * 1000 - counter.at_ms) // 1000)
    kind = counter.subject.split("#", 1)[0]
    metrics.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
    logger.info("rate limit reached", extra={"limit": kind})
    wait = max(1, wait)
    return TooManyRequests(f"{_REFUSALS[kind]} Retry after {wait} s.", headers={"Retry-After": str(wait)})
