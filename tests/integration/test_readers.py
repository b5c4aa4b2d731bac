"""Reader access management: list, re-link, deactivate, revoke (HTTP Basic)."""

from __future__ import annotations

import pytest
from support import basic, last_token, token_of


def _by_email(reply) -> dict[str, dict]:
    return {r["email"]: r for r in reply.body["readers"]}


def test_the_reader_lifecycle_from_the_issue(api, outbox, clock):
    # Given two readers, one with a 30-minute access expiry and one without
    api.invite("ada@example.com", access_expiration_minutes=30, name={"first_name": "Ada"})
    ada_token = last_token(outbox)
    api.invite("bob@example.com")

    # Then both are listed as pending, with their link active
    listed = _by_email(api.readers())
    assert [listed[e]["status"] for e in ("ada@example.com", "bob@example.com")] == ["pending", "pending"]
    assert listed["ada@example.com"]["access_expires_at"] is not None
    assert listed["bob@example.com"]["access_expires_at"] is None
    assert listed["ada@example.com"]["link_state"] == "active"
    assert listed["ada@example.com"]["invited_by"] == "project-test-local"

    # When Ada authenticates, she is active with one sign-in and her link is used
    assert api.authenticate(ada_token).status == 200
    ada = _by_email(api.readers())["ada@example.com"]
    assert (ada["status"], ada["authentication_count"], ada["link_state"]) == ("active", 1, "used")
    assert ada["last_authenticated_at"] is not None

    # When Bob is re-linked without email, the URL comes back, nothing is sent, and it works
    sent_before = len(outbox.messages())
    relinked = api.new_link("bob@example.com", delivery="none")
    assert relinked.status == 200 and relinked.body["delivery"] == "none"
    assert len(outbox.messages()) == sent_before
    assert api.authenticate(token_of(relinked.body["magic_link_url"])).status == 200

    # When Bob's links are deactivated, his access stays and he can ask for a new link himself
    link = api.new_link("bob@example.com", delivery="none").body["magic_link_url"]
    deactivated = api.deactivate("bob@example.com")
    assert deactivated.status == 200
    assert deactivated.body["reader"]["link_state"] == "deactivated"
    assert deactivated.body["reader"]["status"] == "active"
    assert api.authenticate(token_of(link)).status == 401
    clock.advance(61)  # self-service links are at most one a minute per email, counting the admin's
    requested = api.request_link("bob@example.com")
    assert requested.status == 200 and requested.body["outcome"] == "link_sent"
    assert outbox.messages()[-1].to == ["bob@example.com"]
    assert api.authenticate(last_token(outbox)).status == 200

    # When Bob is revoked, his live link dies at once and he can no longer ask for one
    clock.advance(120)
    live = api.new_link("bob@example.com", delivery="none").body["magic_link_url"]
    revoked = api.revoke_access("bob@example.com")
    assert revoked.status == 200 and revoked.body["reader"]["status"] == "revoked"
    assert api.authenticate(token_of(live)).status == 401
    refused = api.request_link("bob@example.com")
    assert refused.body["outcome"] != "link_sent"
    assert api.new_link("bob@example.com").body["error_type"] == "grant_not_active"

    # And Ada's access expires after 30 minutes: listed as expired, her next link refused
    clock.advance(31 * 60)
    assert _by_email(api.readers())["ada@example.com"]["status"] == "expired"
    assert api.new_link("ada@example.com").status == 400


def test_revoking_is_idempotent_and_keeps_who_revoked_first(api, clock):
    api.invite("ada@example.com")
    first = api.revoke_access("ada@example.com").body["reader"]
    clock.advance(60)
    again = api.revoke_access("ada@example.com")

    assert again.status == 200
    assert again.body["reader"]["revoked_at"] == first["revoked_at"]
    assert again.body["reader"]["revoked_by"] == "project-test-local"
    events = [e["event"] for e in again.body["reader"]["history"]]
    assert events == ["invited", "revoked"]


def test_a_revoked_reader_is_kept_as_an_audit_record_until_retention(api, functions, clock):
    from test_cleanup import _run_cleanup

    api.invite("ada@example.com")
    api.revoke_access("ada@example.com")
    assert _by_email(api.readers(status="revoked"))["ada@example.com"]["revoked_by"] == "project-test-local"

    clock.advance(31 * 86400)
    assert _run_cleanup(functions)["deleted"] == 1
    assert api.readers().body["readers"] == []


def test_reinviting_a_revoked_reader_renews_and_says_so(api, outbox):
    api.invite("ada@example.com")
    api.revoke_access("ada@example.com")

    again = api.invite("ada@example.com")

    assert again.body["grant_renewed"] is True
    reader = _by_email(api.readers())["ada@example.com"]
    assert reader["status"] == "pending" and reader["revoked_at"] is None
    assert [e["event"] for e in reader["history"]] == ["invited", "revoked", "renewed"]
    assert api.authenticate(last_token(outbox)).status == 200


def test_a_reusable_link_from_a_relink_counts_every_use(api, clock):
    api.invite("ada@example.com", delivery="none")
    url = api.new_link("ada@example.com", delivery="none", reusable=True).body["magic_link_url"]

    for _ in range(3):
        assert api.authenticate(token_of(url)).status == 200
        clock.advance(5)

    reader = _by_email(api.readers())["ada@example.com"]
    assert reader["authentication_count"] == 3 and reader["link_state"] == "active" and reader["link_reusable"]
    api.new_link("ada@example.com", delivery="none")  # regenerated: the reusable one stops
    assert api.authenticate(token_of(url)).status == 401


def test_relinking_by_email_sends_the_login_email_in_the_readers_language(api, outbox):
    api.invite("ada@example.com", locale="fr", delivery="none")

    reply = api.new_link("ada@example.com")

    assert reply.status == 200 and reply.body["magic_link_url"]
    mail = outbox.messages()[-1]
    assert mail.subject.startswith("Votre lien de connexion")
    assert "1 heure" in mail.text
    assert mail.links[0] == reply.body["magic_link_url"]


def test_listing_pages_through_every_reader_in_email_order(api, aws_calls):
    emails = [f"reader{i:02d}@example.com" for i in range(7)]
    for email in reversed(emails):
        api.invite(email, delivery="none")

    seen, cursor, pages = [], None, 0
    aws_calls.clear()
    while True:
        reply = api.readers(limit="3", **({"cursor": cursor} if cursor else {}))
        assert reply.status == 200
        seen += [r["email"] for r in reply.body["readers"]]
        pages += 1
        cursor = reply.body["next_cursor"]
        if not cursor:
            break

    assert seen == emails
    assert pages == 3
    assert aws_calls[("dynamodb", "Query")] == pages
    assert aws_calls[("dynamodb", "Scan")] == 0


def test_listing_filters_by_status_and_email_prefix(api, outbox):
    api.invite("ada@example.com")
    api.authenticate(last_token(outbox))
    api.invite("adam@example.com")
    api.invite("bob@Example.com")
    api.revoke_access("adam@example.com")

    assert [r["email"] for r in api.readers(status="active").body["readers"]] == ["ada@example.com"]
    assert [r["email"] for r in api.readers(status="revoked").body["readers"]] == ["adam@example.com"]
    assert [r["email"] for r in api.readers(email="ada").body["readers"]] == ["ada@example.com", "adam@example.com"]
    assert [r["email"] for r in api.readers(email="bob@EXAMPLE").body["readers"]] == ["bob@example.com"]
    assert api.readers(status="pending", email="ada").body["readers"] == []


@pytest.mark.parametrize("limit", ["0", "101", "1000", "-1", "ten"])
def test_a_limit_out_of_range_is_400(api, limit):
    reply = api.readers(limit=limit)
    assert reply.status == 400
    assert "limit" in reply.body["error_message"]


def test_an_unknown_status_is_400(api):
    reply = api.readers(status="deleted")
    assert reply.status == 400 and "status" in reply.body["error_message"]


def test_a_tampered_or_foreign_cursor_is_400(api):
    for i in range(3):
        api.invite(f"r{i}@example.com", delivery="none")
    cursor = api.readers(limit="1").body["next_cursor"]
    body, _, sig = cursor.partition(".")

    for bad in [
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),
        body + "." + sig[::-1],
        "eyJrIjp7fX0.abc",
        "not a cursor",
        body,
    ]:
        reply = api.readers(limit="1", cursor=bad)
        assert reply.status == 400, bad
        assert reply.body["error_type"] == "invalid_cursor"

    # A cursor is bound to the filters it was made with
    assert api.readers(limit="1", cursor=cursor, status="pending").status == 400
    assert api.readers(limit="1", cursor=cursor).status == 200


@pytest.mark.parametrize("action", ["revoke_access", "new_link", "deactivate"])
def test_unknown_emails_are_404_and_malformed_ones_400(api, action):
    unknown = getattr(api, action)("nobody@example.com")
    assert unknown.status == 404 and unknown.body["error_type"] == "email_not_found"

    malformed = getattr(api, action)("not-an-email")
    assert malformed.status == 400 and malformed.body["error_type"] == "invalid_email"


def test_reader_management_needs_credentials(api):
    api.invite("ada@example.com")
    for name in ("readers_list", "readers_revoke", "readers_new_link", "readers_deactivate_link"):
        reply = api.send(name, auth=basic("project-test-local", "nope"))
        assert reply.status == 401
    assert api.readers().body["readers"][0]["status"] == "pending"


def test_relink_takes_only_its_own_fields(api):
    api.invite("ada@example.com")
    for fields in ({"delivery": "sms"}, {"link_expiration_minutes": 1}, {"reusable": "yes"}, {"role": "admin"}):
        reply = api.new_link("ada@example.com", **fields)
        assert reply.status == 400, fields
