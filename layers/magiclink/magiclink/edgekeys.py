"""The one module that talks to the CloudFront KeyValueStore the private site's gate reads (edge/gate.js).

`publish` makes the store hold exactly the keys `sitecookie.site_keys()` accepts, as `site-key-<kid>`
entries, and nothing else under that prefix: a rotated-in key is added, a retired one removed, in one
`UpdateKeys` under the store's ETag (a write that raced another is retried on the new ETag).

The KeyValueStore's data-plane API is signed with SigV4A (its endpoint rules say so), which botocore signs
only with awscrt installed: functions/sitekeys ships it (requirements.txt); without it the first call fails
with botocore's MissingDependencyException, naming awscrt.
"""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import credentials, sitecookie

ATTEMPTS = 4  # UpdateKeys refused for a stale ETag (ConflictException): read the ETag again and retry


@cache
def client():
    config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)
    return boto3.client("cloudfront-keyvaluestore", config=config)


def _site_entries(kvs_arn: str) -> dict[str, str]:
    """The store's site-key-* entries (key -> value); other entries are not this module's."""
    entries = {}
    for page in client().get_paginator("list_keys").paginate(KvsARN=kvs_arn):
        for item in page.get("Items", []):
            if item["Key"].startswith(sitecookie.KEY_PREFIX):
                entries[item["Key"]] = item["Value"]
    return entries


def publish(kvs_arn: str) -> dict[str, list[str]]:
    """Put every accepted site key into the store and delete the site keys no longer accepted.

    Returns the kids put and deleted (never a key's value)."""
    credentials.forget()  # the token key may have rotated a moment ago: never publish a cached one
    wanted = {f"{sitecookie.KEY_PREFIX}{kid}": value for kid, value in sitecookie.site_keys()}
    for attempt in range(ATTEMPTS):
        etag = client().describe_key_value_store(KvsARN=kvs_arn)["ETag"]
        present = _site_entries(kvs_arn)
        puts = [{"Key": key, "Value": value} for key, value in wanted.items() if present.get(key) != value]
        deletes = [{"Key": key} for key in present if key not in wanted]
        changes = {"put": [p["Key"] for p in puts], "deleted": [d["Key"] for d in deletes]}
        if not puts and not deletes:
            return changes
        batch = ({"Puts": puts} if puts else {}) | ({"Deletes": deletes} if deletes else {})
        try:
            client().update_keys(KvsARN=kvs_arn, IfMatch=etag, **batch)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConflictException" or attempt == ATTEMPTS - 1:
                raise
            continue
        return changes
    raise AssertionError("unreachable")  # the last attempt returns or raises
