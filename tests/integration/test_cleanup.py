"""The scheduled cleanup: revoked invites past retention go, through the expiry index; nothing else does."""

from __future__ import annotations

import json

from support import EVENTS, last_token, table_items, token_of

from local.stack import LambdaContext


def _run_cleanup(functions):
    event = json.loads((EVENTS / "cleanup_schedule.json").read_text())
    fn = functions.functions["CleanupFunction"]
    return functions.handler("CleanupFunction")(event, LambdaContext(fn))


def _counts(result: dict) -> tuple[int, int]:
    return result["found"], result["deleted"]


def _records() -> list[dict]:
    """The table without its rate-limit counters (which DynamoDB's TTL removes, not cleanup)."""
    return [item for item in table_items() if not item["pk"]["S"].startswith("RATE#")]


def test_cleanup_deletes_revoked_invites_after_retention_and_only_those(api, functions, clock):
    # Given a revoked invite, a pending one, and a revoked-then-renewed one
    api.invite("gone@example.com")
    api.revoke("gone@example.com")
    api.invite("kept@example.com")
    api.invite("back@example.com")
    api.revoke("back@example.com")
    api.invite("back@example.com")

    # When cleanup runs before the retention has passed, nothing goes
    assert _counts(_run_cleanup(functions)) == (0, 0)
    assert len(_records()) == 6

    # When it runs after the retention (30 days by default)
    clock.advance(31 * 86400)
    result = _run_cleanup(functions)

    # Then the revoked reader and its email pointer are gone, the others stay
    assert _counts(result) == (1, 1)
    keys = sorted(i["pk"]["S"] for i in _records())
    assert "EMAIL#gone@example.com" not in keys
    assert len(keys) == 4
    assert {"EMAIL#kept@example.com", "EMAIL#back@example.com"} <= set(keys)

    # And running it again finds nothing: it is idempotent
    assert _counts(_run_cleanup(functions)) == (0, 0)


def test_an_email_whose_revoked_invite_was_cleaned_up_can_be_invited_again(api, functions, clock):
    first = api.invite()
    api.revoke()
    clock.advance(31 * 86400)
    _run_cleanup(functions)

    again = api.invite()

    assert again.status == 200
    assert again.body["user_id"] != first.body["user_id"]


def _readers_by_email() -> dict[str, dict]:
    return {i["email"]["S"]: i for i in table_items() if i["sk"]["S"] == "USER"}


def test_cleanup_marks_expired_access_and_expired_pending_invites(api, outbox, functions, clock):
    # Given a reader whose access ends in 30 minutes, an invite whose link ends in 10, and one with no end
    api.invite("short@example.com", access_expiration_minutes=30, invite_expiration_minutes=60)
    api.invite("ignored@example.com", invite_expiration_minutes=10)
    api.invite("forever@example.com", invite_expiration_minutes=60)
    api.authenticate(last_token(outbox))  # forever@ is active now

    # When cleanup runs after 20 minutes: the ignored invite's link is over, so that invite expires
    clock.advance(20 * 60)
    first = _run_cleanup(functions)
    assert first["expired"] == 1
    readers = _readers_by_email()
    assert readers["ignored@example.com"]["grant_status"]["S"] == "expired"
    assert "link_hash" not in readers["ignored@example.com"]
    assert readers["short@example.com"]["grant_status"]["S"] == "pending"

    # When it runs after 61 minutes: short@'s access is over; forever@ only gets rescheduled
    clock.advance(41 * 60)
    second = _run_cleanup(functions)
    readers = _readers_by_email()
    assert readers["short@example.com"]["grant_status"]["S"] == "expired"
    assert readers["forever@example.com"]["grant_status"]["S"] == "active"
    assert "due_at" not in readers["forever@example.com"]  # nothing left to wait for
    assert second["expired"] == 1 and second["rescheduled"] == 1
    history = [e["M"]["event"]["S"] for e in readers["short@example.com"]["history"]["L"]]
    assert history[-1] == "expired"

    # And an expired reader invited again is renewed
    assert api.invite("ignored@example.com").body["grant_renewed"] is True


def test_cleanup_prunes_expired_sessions_of_the_readers_it_visits(api, functions, clock):
    api.invite("ada@example.com", delivery="none", access_expiration_minutes=600)
    url = api.invite("ada@example.com", delivery="none", access_expiration_minutes=600).body["magic_link_url"]
    api.authenticate(token_of(url), session_duration_minutes=30)

    clock.advance(61 * 60)  # the link's due time has come; the session is over
    _run_cleanup(functions)

    assert _readers_by_email()["ada@example.com"]["sessions"]["M"] == {}


def test_an_interrupted_run_leaves_the_rest_for_the_next_one(api, functions, clock):
    from magiclink import cleanup

    for i in range(3):
        api.invite(f"gone{i}@example.com", delivery="none")
        api.revoke(f"gone{i}@example.com")
    clock.advance(31 * 86400)

    cut = cleanup.run(time_left=lambda: 0)  # no time at all: stops before the first bucket
    assert cut["stopped_early"] == 1 and cut["deleted"] == 0

    assert cleanup.run()["deleted"] == 3


def test_a_reader_revived_after_the_index_was_read_survives_and_the_batch_goes_on(api, functions, clock, monkeypatch):
    from magiclink import cleanup, store

    for email in ("a@example.com", "b@example.com", "c@example.com"):
        api.invite(email, delivery="none")
        api.revoke(email)
    clock.advance(31 * 86400)

    real = store.expiry.expired_items

    def read_then_revive(bucket, *, now):
        found = list(real(bucket, now=now))
        if found:
            api.invite("b@example.com", delivery="none")  # re-invited between the index read and the delete
        return iter(found)

    monkeypatch.setattr(store.expiry, "expired_items", read_then_revive)
    result = cleanup.run()

    assert result["found"] == 3 and result["deleted"] == 2
    assert set(_readers_by_email()) == {"b@example.com"}


def test_an_active_reader_without_expiry_has_expired_sessions_pruned(api, functions, clock):
    api.invite("ada@example.com", delivery="none")
    url = api.invite("ada@example.com", delivery="none").body["magic_link_url"]
    api.authenticate(token_of(url), session_duration_minutes=30)
    clock.advance(2 * 3600)  # past the link (due first), then past the session
    _run_cleanup(functions)  # the link's due time: rescheduled to nothing left ahead
    readers = _readers_by_email()
    assert readers["ada@example.com"]["sessions"]["M"] == {}
    assert "due_at" not in readers["ada@example.com"]

    url = api.new_link("ada@example.com", delivery="none").body["magic_link_url"]
    api.authenticate(token_of(url), session_duration_minutes=30)
    clock.advance(90 * 60)
    result = _run_cleanup(functions)
    assert result["rescheduled"] == 1
    assert _readers_by_email()["ada@example.com"]["sessions"]["M"] == {}
