"""The scheduled cleanup: revoked invites past retention go, through the expiry index; nothing else does."""

from __future__ import annotations

import json

from support import EVENTS, table_items

from local.stack import LambdaContext


def _run_cleanup(functions):
    event = json.loads((EVENTS / "cleanup_schedule.json").read_text())
    fn = functions.functions["CleanupFunction"]
    return functions.handler("CleanupFunction")(event, LambdaContext(fn))


def test_cleanup_deletes_revoked_invites_after_retention_and_only_those(api, functions, clock):
    # Given a revoked invite, a pending one, and a revoked-then-renewed one
    api.invite("gone@example.com")
    api.revoke("gone@example.com")
    api.invite("kept@example.com")
    api.invite("back@example.com")
    api.revoke("back@example.com")
    api.invite("back@example.com")

    # When cleanup runs before the retention has passed, nothing goes
    assert _run_cleanup(functions) == {"found": 0, "deleted": 0}
    assert len(table_items()) == 6

    # When it runs after the retention (30 days by default)
    clock.advance(31 * 86400)
    result = _run_cleanup(functions)

    # Then the revoked reader and its email pointer are gone, the others stay
    assert result == {"found": 1, "deleted": 1}
    keys = sorted(i["pk"]["S"] for i in table_items())
    assert "EMAIL#gone@example.com" not in keys
    assert len(keys) == 4
    assert {"EMAIL#kept@example.com", "EMAIL#back@example.com"} <= set(keys)

    # And running it again finds nothing: it is idempotent
    assert _run_cleanup(functions) == {"found": 0, "deleted": 0}


def test_an_email_whose_revoked_invite_was_cleaned_up_can_be_invited_again(api, functions, clock):
    first = api.invite()
    api.revoke()
    clock.advance(31 * 86400)
    _run_cleanup(functions)

    again = api.invite()

    assert again.status == 200
    assert again.body["user_id"] != first.body["user_id"]
