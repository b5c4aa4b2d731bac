"""Races docs/security.md says DynamoDB's conditional writes settle, run for real against DynamoDB Local.

The racing calls go straight to the logic functions from many threads (see the `concurrently` fixture);
the setup and the checks after go through the functions' handlers as everywhere else.
"""

from __future__ import annotations

import random
import time
from collections import Counter

from engine_support import describe, pointer_item, reader_item
from support import last_token, table_items, token_of

from magiclink import authentication, grants, http, revocation
from magiclink.models.items import MAX_SESSIONS
from magiclink.models.requests import AuthenticateRequest, InviteRequest

AUTHENTICATIONS = 100
INVITES = 50
INVITE_ROUNDS = 4
ROUNDS = 40


def _authenticate(token: str):
    return authentication.authenticate(AuthenticateRequest(token=token))


def test_one_link_authenticated_100_times_at_once_succeeds_exactly_once(api, outbox, concurrently):
    # Given an invited reader and their link (the invite has warmed the cached secrets, as in a warm container)
    invited = api.invite("crowd@example.com")
    token = last_token(outbox)
    user_id = invited.body["user_id"]

    # When 100 callers authenticate that link at the same moment
    outcomes = concurrently([lambda: _authenticate(token)] * AUTHENTICATIONS)

    # Then exactly one is let in, and every other gets the one refusal
    assert Counter(status for status, _ in outcomes) == {200: 1, 401: AUTHENTICATIONS - 1}, describe(outcomes)
    assert {error.error_type for status, error in outcomes if status == 401} == {"unable_to_auth_magic_link"}

    # And the stored reader counts one authentication, active, with the link spent
    stored = reader_item(user_id)
    assert stored["authentication_count"] == {"N": "1"}
    assert stored["user_status"] == {"S": "active"} and stored["grant_status"] == {"S": "active"}
    assert "link_used_at" in stored
    assert api.authenticate(token).status == 401


def test_50_invites_of_one_new_email_at_once_make_one_reader_with_one_live_link(api, concurrently, configure):
    # Several rounds, a new email each: a lost claim on the email shows only when one invite's write lands
    # between another's read and write, which one round does not always bring about. The per-email rate
    # limit is raised so that all 50 race for the reader (tests/engine/test_engine_rate_limits.py races it).
    configure(EMAIL_LINKS_PER_HOUR=str(INVITES))
    for round_ in range(INVITE_ROUNDS):
        _invite_crowd(api, concurrently, f"crowd{round_}@example.com")


def _invite_crowd(api, concurrently, email: str) -> None:
    # When 50 invites of one new email arrive at the same moment (reusable links, so that trying one
    # below does not spend it: each is judged only on whether it is still the current link)
    request = InviteRequest.model_validate({"email": email, "delivery": "none", "reusable": True})
    by = http.api_principal()
    outcomes = concurrently([lambda: grants.invite(request, by=by)] * INVITES)

    # Then each is answered 200, or at worst a clean "retry" (503, or 429 if invites get rate-limited), never a 500
    statuses = Counter(status for status, _ in outcomes)
    assert set(statuses) <= {200, 429, 503}, describe(outcomes)
    assert statuses[200] >= 1, describe(outcomes)
    for status, error in outcomes:
        if status != 200:
            assert error.headers.get("Retry-After"), error
    invited = [value for status, value in outcomes if status == 200]

    # And there is one reader and one email pointer, and every answer names that reader
    items = table_items()
    users = [i for i in items if i["sk"]["S"] == "USER" and i["email"]["S"] == email]
    pointers = [i for i in items if i["pk"]["S"] == f"EMAIL#{email}"]
    assert len(users) == 1 and len(pointers) == 1, f"{email}: {len(users)} readers, {len(pointers)} pointers"
    (user,) = users
    user_id = user["user_id"]["S"]
    assert pointer_item(email)["user_id"] == {"S": user_id}
    assert {i.reader.user_id for i in invited} == {user_id}
    assert {i.reader.email_id for i in invited} == {user["email_id"]["S"]}
    assert {i.reader.grant_id for i in invited} == {user["grant_id"]["S"]}
    assert not any(i.renewed for i in invited)

    # And of all the links handed out, exactly one works: the last one written; the rest are superseded
    issued = [token_of(i.magic_link_url) for i in invited]
    assert len(set(issued)) == len(issued)
    answers = Counter(api.authenticate(token).status for token in issued)
    assert answers == {200: 1, 401: len(issued) - 1}, answers


def test_a_link_cannot_authenticate_once_revoke_invite_has_returned(api, concurrently):
    """Revoke and authenticate race on a pending invite, round after round.

    Each is one conditional write on the reader (revoke applies only while the user is pending, and drops
    the link's hash; authenticate only while that hash matches and the grant is live), so exactly one
    can apply. Both succeeding would mean a link authenticated after revoke_invite returned (or an
    accepted invite was revoked): that is the invariant checked. Neither succeeding is wrong too.
    """
    rng = random.Random(20261122)
    by = http.api_principal()
    seen: Counter = Counter()
    for round_ in range(ROUNDS):
        email = f"race{round_}@example.com"
        invited = api.invite(email, delivery="none")
        token = token_of(invited.body["magic_link_url"])
        user_id = invited.body["user_id"]
        # Revoke is two requests (find the email, write the reader), authenticate one: hold authenticate
        # back a random few milliseconds so that both orders, and near-ties, happen.
        delay = rng.uniform(0, 0.015)

        def revoke(email=email):
            return revocation.revoke_invite(email, by=by)

        def authenticate(token=token, delay=delay):
            time.sleep(delay)
            return _authenticate(token)

        (revoked, revoke_value), (authenticated, auth_value) = concurrently([revoke, authenticate])
        seen[(revoked, authenticated)] += 1
        assert (revoked, authenticated) in {(200, 401), (400, 200)}, (
            f"round {round_}: revoke_invite {revoked} {revoke_value!r}, authenticate {authenticated} {auth_value!r}"
        )

        stored = reader_item(user_id)
        if revoked == 200:
            # The link is dead for good, and the reader was never let in
            assert auth_value.error_type == "unable_to_auth_magic_link"
            assert api.authenticate(token).status == 401
            assert stored["grant_status"] == {"S": "revoked"} and stored["user_status"] == {"S": "pending"}
            assert "last_authenticated_at" not in stored
        else:
            # The reader got in first: the invite is accepted, and can no longer be revoked
            assert revoke_value.error_type == "invite_already_accepted"
            assert api.revoke(email).status == 400
            assert stored["grant_status"] == {"S": "active"} and stored["user_status"] == {"S": "active"}
            assert "revoked_at" not in stored and "ttl" not in stored

    # Both orders happened, so the race really was run both ways
    assert seen[(200, 401)] and seen[(400, 200)], dict(seen)


def test_30_sessions_started_at_once_on_a_full_reader_keep_it_at_the_cap(api, concurrently):
    # Given a reader with a reusable link who already holds as many sessions as a reader may
    invited = api.invite("crowd@example.com", reusable=True, delivery="none")
    token = token_of(invited.body["magic_link_url"])
    for _ in range(MAX_SESSIONS):
        assert api.authenticate(token, session_duration_minutes=60).status == 200

    # When 30 more sessions start at the same moment
    request = AuthenticateRequest(token=token, session_duration_minutes=60)
    outcomes = concurrently([lambda: authentication.authenticate(request)] * 30)

    # Then each is let in, ending the oldest, or at worst told to retry (never a 500), and the cap holds
    statuses = Counter(status for status, _ in outcomes)
    assert set(statuses) <= {200, 503} and statuses[200] >= 1, describe(outcomes)
    assert all(error.headers.get("Retry-After") for status, error in outcomes if status == 503)
    assert len(reader_item(invited.body["user_id"])["sessions"]["M"]) <= MAX_SESSIONS
    print(f"30 sessions at once on a full reader: {dict(statuses)}")
