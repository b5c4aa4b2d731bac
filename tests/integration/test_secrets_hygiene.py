"""Tokens, hashes, the token key and the API secret never reach a log line or a metric."""

from __future__ import annotations

import json
import logging

import boto3
from support import last_token

from local import stack


def test_no_secret_reaches_the_logs_even_at_debug(api, outbox, capsys, caplog):
    from magiclink.observability import logger

    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=logger.name)
    try:
        api.invite()
        token = last_token(outbox)
        api.authenticate(token)
        api.authenticate(token)
        api.invite("bob@example.com")
        api.revoke("bob@example.com")
    finally:
        logger.setLevel(logging.INFO)

    sm = boto3.client("secretsmanager")
    names = stack.local_names()
    key = json.loads(sm.get_secret_value(SecretId=names["TokenKeySecret"])["SecretString"])["key"]
    _, secret = stack.credentials()
    items = boto3.client("dynamodb").scan(TableName=names["Table"])["Items"]
    link_hashes = [i["link_hash"]["S"] for i in items if "link_hash" in i]

    captured = capsys.readouterr()
    written = captured.out + captured.err + caplog.text
    assert "invite issued" in written  # the logs were captured at all
    for needle in [token, key, secret, *link_hashes]:
        assert needle not in written


def test_log_lines_carry_the_api_request_id_and_cold_start(api, monkeypatch):
    import io

    from magiclink.observability import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    api.invite()
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith('{"level"')]
    issued = next(line for line in lines if line["message"] == "invite issued")
    assert issued["correlation_id"] == "example-invite"  # requestContext.requestId of events/invite.json
    assert "cold_start" in issued and issued["service"] == "magiclink"
    assert issued["user_id"].startswith("user-test-") and issued["grant_id"].startswith("grant-test-")
