"""The rate limits hold when many containers count at once, on DynamoDB Local's real conditional writes.

The clock is frozen inside one second (and one hourly window), so every racing call counts in the same window.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from engine_support import describe, item, outcome

from magiclink import grants, http, selfservice
from magiclink.models.requests import InviteRequest, ReaderLinkRequest, RequestLinkRequest

CALLERS = 30
ADMIN_CALLS = 6


@pytest.fixture
def frozen(clock, rate_limits):
    now = int(time.time())
    clock.freeze(now - now % 3600 + 100)
    return clock


def test_30_links_for_one_email_in_one_second_issue_exactly_one(api, frozen, concurrently):
    # Given a reader, and the second after their invite
    api.invite("crowd@example.com", delivery="none")
    frozen.advance(1)
    by = http.api_principal()

    # When 30 callers ask for a link for that email in the same second
    link = ReaderLinkRequest(delivery="none")
    outcomes = concurrently([lambda: grants.send_link("crowd@example.com", link, by=by)] * CALLERS)

    # Then exactly one is issued; the others are refused with Retry-After (never a 500), and counted nowhere
    statuses = Counter(status for status, _ in outcomes)
    assert statuses[200] == 1 and set(statuses) <= {200, 429, 503}, describe(outcomes)
    assert all(error.headers.get("Retry-After") for status, error in outcomes if status != 200)
    window = str(frozen.frozen - 100)
    assert item("RATE#email#crowd@example.com", window)["hits"] == {"N": "2"}  # the invite and the one link
    assert item("RATE#project", window)["hits"] == {"N": "2"}


def test_the_project_cap_is_never_exceeded_by_concurrent_invites(api, frozen, concurrently, configure):
    # Given a project allowed 12 links this hour
    configure(PROJECT_LINKS_PER_HOUR="12")
    by = http.api_principal()

    # When 30 invites of 30 different emails arrive at once
    def invite(n: int):
        return lambda: grants.invite(InviteRequest(email=f"reader{n}@example.com", delivery="none"), by=by)

    outcomes = concurrently([invite(n) for n in range(CALLERS)])

    # Then no more than 12 are issued, the project's counter says exactly how many, and the rest got a clean retry
    statuses = Counter(status for status, _ in outcomes)
    assert set(statuses) <= {200, 429, 503}, describe(outcomes)
    assert 0 < statuses[200] <= 12, describe(outcomes)
    assert item("RATE#project", str(frozen.frozen - 100))["hits"] == {"N": str(statuses[200])}
    print(f"30 concurrent invites, cap 12: {dict(statuses)}")


def test_anonymous_requests_racing_the_admin_never_refuse_an_admin_call(api, clock, concurrently):
    # Given a reader, a minute after their invite, in one hourly window (the one-a-second spacing off, so that
    # the admin's own calls may follow each other at once)
    now = int(time.time())
    clock.freeze(now - now % 3600 + 100)
    api.invite("ada@example.com", delivery="none")
    clock.advance(61)
    by = http.api_principal()

    def admin() -> list:
        """The admin's invites and re-links of that email, one after another."""
        calls = [
            lambda: grants.invite(InviteRequest(email="ada@example.com", delivery="none"), by=by),
            lambda: grants.send_link("ada@example.com", ReaderLinkRequest(delivery="none"), by=by),
        ]
        return [outcome(calls[n % 2]) for n in range(ADMIN_CALLS)]

    def anonymous(n: int):
        request = RequestLinkRequest(email="ada@example.com")
        return lambda: selfservice.request_link(request, source_ip=f"203.0.113.{n}")

    # When 30 anonymous requests for the email, from 30 addresses, race the admin
    (status, admin_outcomes), *public = concurrently([admin] + [anonymous(n) for n in range(CALLERS)])

    # Then every admin call succeeds; the anonymous ones were served or refused cleanly, on their own budget
    assert status == 200, admin_outcomes
    assert [status for status, _ in admin_outcomes] == [200] * ADMIN_CALLS, describe(admin_outcomes)
    assert {status for status, _ in public} <= {200, 429, 503}, describe(public)
    window = str(clock.frozen - 100)
    assert item("RATE#email#ada@example.com", window)["hits"] == {"N": str(1 + ADMIN_CALLS)}
    assert int(item("RATE#public-email#ada@example.com", window)["hits"]["N"]) <= 10
