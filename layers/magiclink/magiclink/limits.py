"""Rate limits: the contract's caps, counted in DynamoDB so that every Lambda container sees the same count.

Each link the service issues (invite, send, re-link, a self-service request) counts against its email
(at most one a second, `email_links_per_hour` an hour) and the project (`project_links_per_hour`);
a public request also counts against its source IP (`ip_requests_per_hour`; an IPv6 address by its /64).
The counters are fixed one-hour windows, all counted or none in one conditional write, before anything
else happens: a refused request changes nothing and spends nobody else's allowance.
"""

from __future__ import annotations

import ipaddress

from aws_lambda_powertools.metrics import MetricUnit

from . import store
from .errors import TooManyRequests
from .observability import logger, metrics
from .settings import get_settings

WINDOW = 3600
EMAIL_SPACING = 1  # seconds: "at most 1 per second per email"

_REFUSALS = {
    "email": "Too many links for this email address.",
    "ip": "Too many requests from this network.",
    "project": "This project has issued as many links as it may this hour.",
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
    return f"email#{email}"


def counters(now: int, *, email: str, ip: str | None = None) -> list[store.counters.Counter]:
    """The counters one link for `email` (asked for from `ip` on the public endpoint) counts against."""
    settings = get_settings()
    start = now - now % WINDOW
    chosen = [store.counters.Counter(email_subject(email), start, WINDOW, settings.email_links_per_hour, EMAIL_SPACING)]
    if ip:
        chosen.append(store.counters.Counter(f"ip#{_network(ip)}", start, WINDOW, settings.ip_requests_per_hour))
    chosen.append(store.counters.Counter("project", start, WINDOW, settings.project_links_per_hour))
    return chosen


def take(now: int, *, email: str, ip: str | None = None) -> None:
    """Count one link against each limit; TooManyRequests (429, Retry-After) when any is spent."""
    try:
        store.counters.count(counters(now, email=email, ip=ip), now=now)
    except store.counters.LimitReached as reached:
        raise refusal(reached, now) from None


def refusal(reached: store.counters.LimitReached, now: int) -> TooManyRequests:
    counter = reached.counter
    if reached.hits >= counter.limit:
        wait = counter.start + counter.window - now
    else:
        wait = reached.last_at + counter.spacing - now
    kind = counter.subject.split("#", 1)[0]
    metrics.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
    logger.info("rate limit reached", extra={"limit": kind})
    wait = max(1, wait)
    return TooManyRequests(f"{_REFUSALS[kind]} Retry after {wait} s.", headers={"Retry-After": str(wait)})
