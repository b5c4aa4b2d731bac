"""The contract's rate limits: per email (one a second, N an hour) and per project for authenticated callers;
public requests per email, per source IP and per project, on budgets of their own.

The clock is frozen 100 s into an hour, so that every request of a test falls in one counting window.
"""

from __future__ import annotations

import functools
import time

import pytest
from support import event, last_token, table_items

HOUR = 3600


@pytest.fixture
def frozen(clock, rate_limits):
    now = int(time.time())
    clock.freeze(now - now % HOUR + 100)
    return clock


def _refused(reply, retry_after: int) -> None:
    assert reply.status == 429, reply.body
    assert reply.body["error_type"] == "too_many_requests"
    assert reply.headers["Retry-After"] == str(retry_after)


def _request_from(api, email: str, ip: str):
    sent = event("request_link", {"email": email})
    sent["requestContext"]["http"]["sourceIp"] = ip
    return api.deliver(sent)


def test_one_link_a_second_per_email_and_the_refusal_changes_nothing(api, outbox, frozen):
    first = api.invite("ada@example.com")
    token = last_token(outbox)

    again = api.invite("ada@example.com", name={"first_name": "Changed"})

    _refused(again, 1)
    assert len(outbox.messages()) == 1  # no second email
    assert api.readers().body["readers"][0]["name"]["first_name"] == ""  # nothing written
    frozen.advance(1)
    assert api.send("send", {"email": "ada@example.com"}).status == 200  # a second later it works
    assert api.authenticate(token).status == 401  # (and that link replaced the first)
    assert first.status == 200


def test_the_hourly_cap_per_email_spans_invite_send_and_relink(api, outbox, frozen, configure):
    configure(EMAIL_LINKS_PER_HOUR="3")
    answers = []
    for issue in (
        lambda: api.invite("ada@example.com"),
        lambda: api.send("send", {"email": "ada@example.com"}),
        lambda: api.new_link("ada@example.com"),
    ):
        answers.append(issue().status)
        frozen.advance(1)

    refused = api.new_link("ada@example.com", delivery="none")

    assert answers == [200, 200, 200]
    _refused(refused, HOUR - 100 - 3)  # until the window ends
    assert "this email address" in refused.body["error_message"]
    assert len(outbox.messages()) == 3
    frozen.advance(HOUR - 100 - 3)
    assert api.new_link("ada@example.com", delivery="none").status == 200  # a new hour, a new count


def test_other_emails_are_not_held_back_by_one_that_is(api, frozen, configure):
    configure(EMAIL_LINKS_PER_HOUR="1")
    assert api.invite("ada@example.com", delivery="none").status == 200
    frozen.advance(1)
    assert api.invite("ada@example.com", delivery="none").status == 429
    assert api.invite("bob@example.com", delivery="none").status == 200


def test_the_project_cap_counts_every_email_and_refuses_without_writing(api, outbox, frozen, configure):
    configure(PROJECT_LINKS_PER_HOUR="2")
    assert api.invite("ada@example.com").status == 200
    assert api.invite("bob@example.com").status == 200

    refused = api.invite("cyd@example.com")

    _refused(refused, HOUR - 100)
    assert "project" in refused.body["error_message"]
    assert [m.to for m in outbox.messages()] == [["ada@example.com"], ["bob@example.com"]]
    assert not [i for i in table_items() if "cyd@example.com" in i["pk"]["S"] and i["pk"]["S"].startswith("EMAIL#")]


def test_a_refusal_spends_no_other_allowance(api, frozen, configure):
    configure(PROJECT_LINKS_PER_HOUR="2")
    assert api.invite("ada@example.com", delivery="none").status == 200
    for _ in range(5):  # refused by the one-a-second limit: the project's count must not move
        assert api.invite("ada@example.com", delivery="none").status == 429
    assert api.invite("bob@example.com", delivery="none").status == 200


def test_the_public_endpoint_is_limited_per_source_ip(api, frozen, configure):
    configure(IP_REQUESTS_PER_HOUR="2")
    assert _request_from(api, "a@example.com", "203.0.113.7").status == 200
    assert _request_from(api, "b@example.com", "203.0.113.7").status == 200

    _refused(_request_from(api, "c@example.com", "203.0.113.7"), HOUR - 100)
    assert _request_from(api, "c@example.com", "198.51.100.1").status == 200  # another address is not held


def test_anonymous_requests_for_a_readers_email_never_hold_back_the_admins_relink_or_reinvite(api, outbox, frozen):
    # Given a reader, and twelve public requests for their email from twelve addresses, a cooldown apart
    assert api.invite("ada@example.com", delivery="none").status == 200
    public = []
    for n in range(12):
        frozen.advance(61)
        public.append(_request_from(api, "ada@example.com", f"203.0.113.{n}"))

    # When the admin re-links and re-invites that email
    relinked = api.new_link("ada@example.com", delivery="none")
    frozen.advance(1)
    reinvited = api.invite("ada@example.com", delivery="none")

    # Then both are served, and the public budget for the email held all the same (10 an hour)
    assert relinked.status == 200, relinked.body
    assert reinvited.status == 200, reinvited.body
    assert [reply.status for reply in public] == [200] * 10 + [429] * 2
    assert "this email address" in public[-1].body["error_message"]


def test_anonymous_requests_for_a_new_email_never_hold_back_its_invite(api, frozen):
    # Given ten public requests for an email nobody has invited, from ten addresses
    for n in range(10):
        frozen.advance(61)
        assert _request_from(api, "new@example.com", f"203.0.113.{n}").status == 200

    # When the admin invites it, then it is served
    invited = api.invite("new@example.com", delivery="none")
    assert invited.status == 200, invited.body


def test_anonymous_traffic_never_spends_the_projects_allowance(api, frozen, configure):
    # Given a project whose public requests and whose own links are each allowed 3 this hour
    configure(PROJECT_LINKS_PER_HOUR="3", PUBLIC_PROJECT_REQUESTS_PER_HOUR="3")

    # When public requests from many addresses spend the public allowance, then the admin invites
    public = [_request_from(api, f"s{n}@example.com", f"198.51.100.{n}") for n in range(4)]
    invites = [api.invite(f"r{n}@example.com", delivery="none") for n in range(4)]

    # Then the admin still had every one of the project's links (and its own cap still holds)
    assert [reply.status for reply in invites[:3]] == [200, 200, 200]
    _refused(invites[3], HOUR - 100)
    # and the public allowance was refused on its own
    assert [reply.status for reply in public[:3]] == [200, 200, 200]
    _refused(public[3], HOUR - 100)
    assert "requests" in public[3].body["error_message"]


def test_ipv6_addresses_count_by_their_64_prefix(api, frozen, configure):
    configure(IP_REQUESTS_PER_HOUR="1")
    assert _request_from(api, "a@example.com", "2001:db8:1:2::1").status == 200
    assert _request_from(api, "b@example.com", "2001:db8:1:2:ffff::9").status == 429  # same /64
    assert _request_from(api, "c@example.com", "2001:db8:1:3::1").status == 200  # another /64


def test_in_uniform_mode_a_rate_limit_still_answers_429(api, frozen, configure, monkeypatch):
    configure(REQUEST_RESPONSE_MODE="uniform", UNIFORM_RESPONSE_MS="0", IP_REQUESTS_PER_HOUR="1")
    assert _request_from(api, "a@example.com", "203.0.113.7").status == 200
    # The limit is counted before the email is looked at, so the 429 says nothing about the email.
    _refused(_request_from(api, "b@example.com", "203.0.113.7"), HOUR - 100)


def test_the_access_form_says_so_and_sends_retry_after(api, frozen, configure):
    configure(IP_REQUESTS_PER_HOUR="1")
    assert api.send("access_submit", raw_body="email=a%40example.com").status == 200

    page = api.send("access_submit", raw_body="email=b%40example.com")

    assert page.status == 429 and page.headers["Retry-After"] == str(HOUR - 100)
    assert "Wait a while" in page.body


def test_counters_expire_with_their_window(api, frozen):
    api.invite("ada@example.com", delivery="none")
    _request_from(api, "bob@example.com", "203.0.113.7")
    counters = [i for i in table_items() if i["pk"]["S"].startswith("RATE#")]
    window_end = frozen.frozen - 100 + HOUR
    assert {i["pk"]["S"] for i in counters} == {
        "RATE#email#ada@example.com",
        "RATE#project",
        "RATE#public-email#bob@example.com",
        "RATE#public-ip#203.0.113.7",
        "RATE#public-project",
    }
    assert all(int(i["ttl"]["N"]) == window_end for i in counters)  # epoch seconds, for DynamoDB's TTL
    assert all("expiry_bucket" not in i for i in counters)  # not cleanup's work


def test_counting_that_keeps_colliding_with_other_transactions_is_retried_then_503(api, outbox, frozen, monkeypatch):
    from magiclink import store

    real = store.dynamo.client()
    attempts = []

    class Colliding:
        """DynamoDB's client, except that every transaction collides with a concurrent one."""

        exceptions = real.exceptions

        def transact_write_items(self, **_):
            attempts.append(1)
            reasons = {"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]}
            raise real.exceptions.TransactionCanceledException({"Error": {"Code": "x"}, **reasons}, "TransactWrite")

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(store.dynamo, "client", functools.cache(Colliding))
    monkeypatch.setattr(time, "sleep", lambda _: None)

    reply = api.invite("ada@example.com")

    assert reply.status == 503 and reply.headers["Retry-After"] == "1"
    assert len(attempts) == store.dynamo.CONFLICT_ATTEMPTS
    assert outbox.messages() == []


def test_the_one_a_second_limit_is_a_rolling_second_not_a_clock_second(api, outbox, frozen):
    # Given an invite 0.87 s into a clock second
    frozen.freeze(frozen.frozen + 0.87)
    assert api.invite("ada@example.com", delivery="none").status == 200

    # When another comes 0.26 s later, across the clock second's boundary: refused, for the rest of the second
    frozen.advance(0.26)
    _refused(api.invite("ada@example.com", delivery="none"), 1)

    # And a full second after the first it passes
    frozen.advance(0.74)
    assert api.invite("ada@example.com", delivery="none").status == 200
