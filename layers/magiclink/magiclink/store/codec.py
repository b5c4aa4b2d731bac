"""The reader item in DynamoDB's typed form: models.items.Reader to attribute values and back."""

from __future__ import annotations

import json

from boto3.dynamodb.types import TypeDeserializer

from ..models.items import Reader
from .dynamo import expiry_bucket, serialize, user_key

# Attributes that place the item in the table and its indexes; not part of the reader.
_INTERNAL = ("pk", "sk", "ttl", "expiry_bucket", "list_partition", "due_at", "due_bucket")
# Free-form maps, stored as JSON strings (DynamoDB's number and nesting rules are not JSON's).
JSON_FIELDS = ("trusted_metadata", "untrusted_metadata")
_deserialize = TypeDeserializer().deserialize


def to_item(reader: Reader) -> dict:
    data = reader.model_dump(exclude_none=True)
    for field in JSON_FIELDS:
        data[field] = json.dumps(data[field], separators=(",", ":"))
    item = {k: serialize(v) for k, v in data.items()} | user_key(reader.user_id) | {"list_partition": {"S": "READER"}}
    due_at = due(reader.link_expires_at, reader.access_expires_at)
    if due_at is not None:
        item |= {"due_at": serialize(due_at), "due_bucket": serialize(expiry_bucket(due_at))}
    return item


def from_item(item: dict) -> Reader:
    data = {k: _deserialize(v) for k, v in item.items() if k not in _INTERNAL}
    for field in JSON_FIELDS:
        data[field] = json.loads(data.get(field, "{}"))
    return Reader.model_validate(data)


def due(*times: int | None) -> int | None:
    """When cleanup should next look at a reader: the earliest of its link and access expiries."""
    known = [t for t in times if t is not None]
    return min(known) if known else None


def event(at: int, name: str, by: str | None) -> list:
    """A one-element list for list_append onto a reader's history."""
    return [{"at": at, "event": name, "by": by}]
