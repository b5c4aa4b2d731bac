"""Faults between the link's write and its email: nothing counts as sent that was not, and a retry sends one email."""

from __future__ import annotations

import functools
import time

import pytest
from botocore.exceptions import ClientError
from support import last_token, table_items

from magiclink import mailer, selfservice


def _reader(api, email: str = "ada@example.com") -> dict:
    (reader,) = [r for r in api.readers().body["readers"] if r["email"] == email]
    return reader


def _stored(email: str = "ada@example.com") -> dict:
    (item,) = [i for i in table_items() if i["sk"]["S"] == "USER" and i["email"]["S"] == email]
    return item


@pytest.fixture
def ses_fails(monkeypatch):
    """ses_fails(code): SES answers every send with that error until ses_fails(None)."""
    real = mailer._client()
    state = {"code": None}

    class Failing:
        def send_email(self, **request):
            if state["code"]:
                raise ClientError({"Error": {"Code": state["code"], "Message": "no"}}, "SendEmail")
            return real.send_email(**request)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(mailer, "_client", functools.cache(Failing))
    return lambda code: state.__setitem__("code", code)


def test_a_sent_link_is_marked_sent_with_the_ses_message_id(api, outbox):
    api.invite()

    assert _reader(api)["link_delivery"] == "sent"
    assert _stored()["link_message_id"]["S"]


def test_a_link_returned_to_the_caller_says_so(api):
    api.invite(delivery="none")
    assert _reader(api)["link_delivery"] == "returned"


def test_ses_throttling_is_a_503_the_link_is_not_delivered_and_a_retry_sends_exactly_one(api, outbox, ses_fails):
    ses_fails("TooManyRequestsException")

    failed = api.invite()

    assert failed.status == 503 and failed.headers["Retry-After"] == "1"
    assert failed.body["error_type"] == "email_delivery_failed" and failed.body["status_code"] == 503
    assert outbox.messages() == []
    row = _reader(api)
    assert row["link_delivery"] == "not_delivered" and row["link_state"] == "active"
    user_id = row["user_id"]
    assert _stored()["link_delivery_error"]["S"] == "email_delivery_failed"

    ses_fails(None)
    retried = api.invite()

    assert retried.status == 200 and retried.body["user_id"] == user_id
    assert len(outbox.messages()) == 1
    assert _reader(api)["link_delivery"] == "sent"
    assert "link_delivery_error" not in _stored()
    assert api.authenticate(last_token(outbox)).status == 200


def test_an_address_ses_rejects_is_a_400_and_not_delivered(api, outbox, ses_fails):
    ses_fails("MessageRejected")

    reply = api.invite()

    assert reply.status == 400 and reply.body["error_type"] == "email_rejected"
    assert _reader(api)["link_delivery"] == "not_delivered"


def test_any_other_ses_failure_is_a_502(api, ses_fails):
    ses_fails("InternalFailure")
    reply = api.invite()
    assert reply.status == 502 and reply.body["error_type"] == "email_delivery_failed"


class Killed(BaseException):
    """The Lambda runtime ending a function at its timeout: no handler code runs after it."""


def test_a_function_killed_between_the_write_and_the_send_leaves_not_delivered_and_a_relink_fixes_it(
    api, outbox, clock, monkeypatch
):
    def killed(*_, **__):
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(mailer, "send", killed)
        with pytest.raises(Killed):
            api.invite()

    # While a send could still be under way the link reads "sending"; after the grace, "not_delivered"
    assert _reader(api)["link_delivery"] == "sending"
    clock.advance(121)
    assert _reader(api)["link_delivery"] == "not_delivered"
    assert outbox.messages() == []

    relinked = api.new_link("ada@example.com")

    assert relinked.status == 200
    assert len(outbox.messages()) == 1
    assert _reader(api)["link_delivery"] == "sent"
    assert api.authenticate(last_token(outbox)).status == 200


def test_the_delivery_of_a_superseded_link_is_not_recorded_on_the_new_one(api, outbox):
    from magiclink import store

    api.invite(delivery="none")
    old_hash = _stored()["link_hash"]["S"]
    api.new_link("ada@example.com")
    new = _stored()

    assert store.links.mark_delivery(new["user_id"]["S"], old_hash, at=1, error="email_delivery_failed") is False
    assert _reader(api)["link_delivery"] == "sent"


def test_an_email_that_went_out_is_answered_200_even_if_its_mark_cannot_be_written(api, outbox, monkeypatch):
    from magiclink import store
    from magiclink.errors import ServiceUnavailable

    def throttled(*_, **__):
        raise ServiceUnavailable(headers={"Retry-After": "1"})

    monkeypatch.setattr(store.links, "mark_delivery", throttled)

    reply = api.invite()

    # A 503 here would make the caller retry and send a second email; the link reads "sending" instead
    assert reply.status == 200 and len(outbox.messages()) == 1
    assert _reader(api)["link_delivery"] == "sending"


@pytest.mark.parametrize("code", ["MessageRejected", "TooManyRequestsException", "InternalFailure"])
def test_in_uniform_mode_a_reader_whose_link_ses_refuses_gets_a_strangers_answer_in_the_same_time(
    api, outbox, clock, configure, monkeypatch, ses_fails, caplog, capsys, code
):
    # Given uniform mode, a reader, and SES refusing every email
    configure(REQUEST_RESPONSE_MODE="uniform", UNIFORM_RESPONSE_MS="1500")
    api.invite("ada@example.com", delivery="none")
    clock.advance(61)
    ses_fails(code)
    # (a monotonic clock that moves only when the service sleeps, and a little per call)
    elapsed = {"t": 0.0}
    monkeypatch.setattr(time, "monotonic", lambda: elapsed.__setitem__("t", elapsed["t"] + 0.01) or elapsed["t"])
    monkeypatch.setattr(time, "sleep", lambda seconds: elapsed.__setitem__("t", elapsed["t"] + seconds))
    capsys.readouterr()

    # When the reader and a stranger ask for a link
    answers, held = {}, {}
    for email in ("ada@example.com", "stranger@example.com"):
        start = elapsed["t"]
        reply = api.request_link(email)
        answers[email] = (reply.status, reply.body["outcome"], reply.body["message_html"])
        held[email] = elapsed["t"] - start

    # Then both get the same 200 after the same time; the failure is logged and counted, the link not delivered
    assert (
        answers["ada@example.com"] == answers["stranger@example.com"] == (200, "accepted", selfservice.UNIFORM_MESSAGE)
    )
    assert all(1.5 <= seconds < 1.6 for seconds in held.values()), held
    failed = [r for r in caplog.records if r.getMessage() == "request failed, answered uniformly"]
    assert [r.error_type for r in failed] == [{"MessageRejected": "email_rejected"}.get(code, "email_delivery_failed")]
    emitted = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any('"LinkRequestsFailed"' in line for line in emitted)
    assert _reader(api)["link_delivery"] == "not_delivered"
    assert outbox.messages() == []
