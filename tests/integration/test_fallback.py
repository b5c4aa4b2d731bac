"""The `$default` route: what the API does not serve answers Stytch's error JSON, through the function itself."""

from __future__ import annotations

from support import event


def test_an_unserved_route_is_stytchs_404_with_a_request_id(api):
    reply = api.deliver(event("fallback"))
    assert reply.status == 404
    assert reply.body["error_type"] == "route_not_found"
    assert reply.body["request_id"] == "request-id-example-fallback"


def test_any_body_or_none_gets_the_same_answer(api):
    for body in ('{"email": "ada@example.com"}', "not json", ""):
        sent = event("fallback", raw_body=body)
        sent["headers"]["content-type"] = "text/plain"
        reply = api.deliver(sent)
        assert reply.status == 404 and reply.body["error_type"] == "route_not_found"
