"""An email is one identity whatever its case: one user, one rate limit, one revocation. The address as first
given is what the reader is shown and mailed as; a plus-address is a mailbox of its own."""

from __future__ import annotations

from support import last_token, table_items


def test_one_user_whatever_the_case_kept_as_first_given(api, outbox):
    first = api.invite("Ada@Example.com")
    again = api.invite("ada@example.com")

    assert first.status == again.status == 200
    assert again.body["user_id"] == first.body["user_id"]
    (reader,) = api.readers().body["readers"]
    assert reader["email"] == "Ada@example.com"  # as first given (the domain is always lower-cased)
    assert outbox.messages()[-1].to == ["Ada@example.com"]
    pointers = [i["pk"]["S"] for i in table_items() if i["sk"]["S"] == "EMAIL"]
    assert pointers == ["EMAIL#ada@example.com"]


def test_revoking_one_spelling_ends_every_spelling(api, outbox):
    api.invite("Ada@Example.com")
    token = last_token(outbox)

    assert api.revoke("ADA@example.com").status == 200

    assert api.authenticate(token).status == 401
    assert api.readers().body["readers"][0]["status"] == "revoked"


def test_the_rate_limits_count_one_email_whatever_its_case(api, configure):
    configure(EMAIL_LINKS_PER_HOUR="1")
    assert api.invite("Ada@Example.com", delivery="none").status == 200

    refused = api.invite("ada@EXAMPLE.com", delivery="none")

    assert refused.status == 429 and refused.body["error_type"] == "too_many_requests"


def test_a_strangers_request_is_one_whatever_the_case(api, configure):
    configure(REQUEST_COOLDOWN_SECONDS="3600")
    assert api.request_link("Stranger@Example.com").status == 200
    requests = [i for i in table_items() if i["sk"]["S"] == "REQUEST"]
    assert [r["pk"]["S"] for r in requests] == ["REQUEST#stranger@example.com"]


def test_plus_addresses_stay_distinct_mailboxes(api):
    ada = api.invite("ada@example.com", delivery="none").body["user_id"]
    plus = api.invite("ada+docs@example.com", delivery="none").body["user_id"]
    assert ada != plus
