"""The one-time code's races, run for real against DynamoDB Local: however many guess at once, a code gets at
most MAX_CODE_TRIES checks (each try is counted by a conditional write before the code is checked), and a code
and its link, being one credential, let in exactly one caller between them.

The racing calls go straight to the logic functions from many threads (see the `concurrently` fixture), as
tests/engine/test_engine_races.py does for links.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from engine_support import describe, reader_item
from support import last_token

from magiclink import authentication, otps
from magiclink.models.items import MAX_CODE_TRIES
from magiclink.models.requests import AuthenticateRequest, OtpAuthenticateRequest
from magiclink.store import links

GUESSES = 20
ROUNDS = 4
RACERS = 24
CODE_FIELDS = ("code_hash", "code_expires_at", "code_tries")


def _code(outbox) -> str:
    (code,) = outbox.messages()[-1].codes
    return code


def _wrong(code: str, n: int) -> str:
    return f"{(int(code) + 1 + n) % 1_000_000:06d}"


def _otp(method_id: str, code: str):
    return otps.authenticate(OtpAuthenticateRequest(method_id=method_id, code=code, session_duration_minutes=60))


@pytest.fixture
def checks(monkeypatch):
    """How many codes reached the check itself (links.consume_link with code_hashes), past the counted try."""
    seen = Counter()
    lock = threading.Lock()
    consume = links.consume_link

    def counted(*args, **kwargs):
        with lock:
            seen["code" if kwargs.get("code_hashes") is not None else "link"] += 1
        return consume(*args, **kwargs)

    monkeypatch.setattr(links, "consume_link", counted)
    return seen


def test_20_wrong_guesses_at_once_get_exactly_5_checks_and_end_code_and_link(api, outbox, concurrently, checks):
    # Given an invited reader, their code and their link
    invited = api.invite("guess@example.com").body
    code, token = _code(outbox), last_token(outbox)

    # When 20 callers guess a wrong code at the same moment
    outcomes = concurrently([lambda n=n: _otp(invited["email_id"], _wrong(code, n)) for n in range(GUESSES)])

    # Then every one gets the one refusal, and exactly 5 were checked: the rest were refused before checking
    assert Counter(status for status, _ in outcomes) == {404: GUESSES}, describe(outcomes)
    assert {error.error_type for _, error in outcomes} == {"otp_code_not_found"}
    assert checks == {"code": MAX_CODE_TRIES}
    stored = reader_item(invited["user_id"])
    assert stored["code_tries"] == {"N": str(MAX_CODE_TRIES)}
    assert "link_used_at" not in stored and "last_authenticated_at" not in stored

    # And with its tries used up, neither the right code nor the link signs in any more
    assert api.send("otp_authenticate", {"method_id": invited["email_id"], "code": code}).status == 404
    assert api.authenticate(token).status == 401
    assert reader_item(invited["user_id"])["code_tries"] == {"N": str(MAX_CODE_TRIES)}


def test_the_right_code_among_19_wrong_ones_at_once_wins_only_with_one_of_the_5_tries(
    api, outbox, concurrently, checks
):
    wins = Counter()
    for round_ in range(ROUNDS):
        # Given a reader's fresh code
        invited = api.invite(f"guess{round_}@example.com").body
        code = _code(outbox)
        checks.clear()

        # When the right code and 19 wrong ones are tried at the same moment (the right one in a new place)
        guesses = [_wrong(code, n) for n in range(GUESSES - 1)]
        guesses.insert(round_ * 5 % GUESSES, code)
        method_id = invited["email_id"]
        outcomes = concurrently([lambda guess=guess, m=method_id: _otp(m, guess) for guess in guesses])

        # Then at most one is let in, and only the right code; at most 5 tries were counted and checked
        statuses = Counter(status for status, _ in outcomes)
        assert set(statuses) <= {200, 404} and statuses[200] <= 1, describe(outcomes)
        assert all(error.error_type == "otp_code_not_found" for status, error in outcomes if status == 404)
        stored = reader_item(invited["user_id"])
        tries = int(stored["code_tries"]["N"]) if "code_tries" in stored else None
        assert checks["code"] <= MAX_CODE_TRIES
        if statuses[200]:
            pairs = zip(guesses, outcomes, strict=True)
            ((won, answer),) = [(guess, value) for guess, (status, value) in pairs if status == 200]
            assert won == code and answer.session_token
            # the code was spent with its session (its fields end with it) and the link with it
            assert not any(field in stored for field in CODE_FIELDS) and "link_used_at" in stored
            assert stored["authentication_count"] == {"N": "1"}
            assert len(stored["sessions"]["M"]) == 1
        else:
            # the right code came too late: the 5 tries went to wrong guesses, and the reader is not in
            assert tries == MAX_CODE_TRIES and checks["code"] == MAX_CODE_TRIES
            assert "link_used_at" not in stored and "last_authenticated_at" not in stored
        wins[bool(statuses[200])] += 1
    print(f"the right code among {GUESSES - 1} wrong ones, {ROUNDS} rounds: won {wins[True]}, lost {wins[False]}")


def test_a_code_and_its_link_raced_together_let_in_exactly_one_caller(api, outbox, concurrently, checks):
    for round_ in range(ROUNDS):
        # Given an invited reader's code and link (one credential)
        invited = api.invite(f"both{round_}@example.com").body
        code, token = _code(outbox), last_token(outbox)

        # When half the callers authenticate the link and half the code, each asking for a new session
        def by_link(token=token):
            return authentication.authenticate(AuthenticateRequest(token=token, session_duration_minutes=60))

        def by_code(method_id=invited["email_id"], code=code):
            return _otp(method_id, code)

        calls = [by_link if n % 2 == round_ % 2 else by_code for n in range(RACERS)]
        outcomes = concurrently(calls)

        # Then exactly one is let in, in total; links are refused as links, codes as codes
        statuses = Counter(status for status, _ in outcomes)
        assert statuses[200] == 1 and set(statuses) <= {200, 401, 404}, describe(outcomes)
        for call, (status, value) in zip(calls, outcomes, strict=True):
            if status != 200:
                expected = (401, "unable_to_auth_magic_link") if call is by_link else (404, "otp_code_not_found")
                assert (status, value.error_type) == expected, value

        # And the reader holds one session and one authentication, the link spent and the code gone
        stored = reader_item(invited["user_id"])
        assert stored["authentication_count"] == {"N": "1"} and "link_used_at" in stored
        assert len(stored["sessions"]["M"]) == 1
        assert not any(field in stored for field in CODE_FIELDS)
        assert api.authenticate(token).status == 401
        assert api.send("otp_authenticate", {"method_id": invited["email_id"], "code": code}).status == 404
