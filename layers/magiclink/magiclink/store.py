"""The one module that talks to DynamoDB.

Single table, three item kinds:
  USER#<user_id>    / USER     the reader: user, grant and the current link's keyed hash (models.Reader)
  EMAIL#<email>     / EMAIL    a pointer email -> user_id that makes an email unique
  REQUEST#<email>   / REQUEST  a stranger's request for access, for the owner to grant or dismiss
  RATE#<subject>    / <start>  one window of a rate limit's counter (only DynamoDB's TTL removes these)
Readers and requests carry `list_partition` ("READER" / "REQUEST") and `email`: the `by_email` index
lists them in email order. Items due for deletion carry `ttl` (epoch seconds) and `expiry_bucket` (the
ttl's UTC day), which put them in the sparse `by_expiry` index the cleanup job reads; DynamoDB's TTL
is only a backstop. Readers whose state may change with time (a link or an access expiry ahead)
carry `due_at` and `due_bucket`, which put them in the sparse `by_due` index, so cleanup finds them
without a scan.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from .errors import ServiceUnavailable
from .models import Reader, SessionEntry
from .settings import get_settings

EXPIRY_INDEX = "by_expiry"
EMAIL_INDEX = "by_email"
DUE_INDEX = "by_due"
_INTERNAL = ("pk", "sk", "ttl", "expiry_bucket", "list_partition", "due_at", "due_bucket")
_TRANSACTION_LIMIT = 100
_CONFLICT_ATTEMPTS = 4
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
_JSON_FIELDS = ("trusted_metadata", "untrusted_metadata")
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class ConditionFailed(Exception):
    """A conditional write did not apply; `item` is the item as it was (None when there was none)."""

    def __init__(self, item: Reader | None):
        super().__init__("condition failed")
        self.item = item

    @classmethod
    def from_response(cls, response: dict) -> ConditionFailed:
        return cls(_from_item(response["Item"]) if "Item" in response else None)


@dataclass(frozen=True)
class Counter:
    """One window of a rate limit: at most `limit` hits in [start, start + window), each at least
    `spacing` seconds after the one before (0: no spacing)."""

    subject: str
    start: int
    window: int
    limit: int
    spacing: int = 0


class LimitReached(Exception):
    """A counter refused a hit; `hits` and `last_at` are what it held (0 when it could not say)."""

    def __init__(self, counter: Counter, hits: int, last_at: int):
        super().__init__(f"limit reached: {counter.subject}")
        self.counter, self.hits, self.last_at = counter, hits, last_at


@cache
def _client():
    config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)
    return boto3.client("dynamodb", config=config)


@cache
def idempotency_store():
    """Powertools' idempotency records, kept in the service's table (one partition, `ttl` expiry)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=_table(),
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#invite",
        expiry_attr="ttl",
        boto3_client=_client(),
    )


def _table() -> str:
    return get_settings().table_name


@contextmanager
def _calls() -> Iterator[None]:
    """Throttling that outlasted botocore's retries becomes a 503 with Retry-After."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _THROTTLED:
            raise ServiceUnavailable(headers={"Retry-After": "1"}) from exc
        raise


def _user_key(user_id: str) -> dict:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}


def _email_key(email: str) -> dict:
    return {"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}}


def _to_item(reader: Reader) -> dict:
    data = reader.model_dump(exclude_none=True)
    for field in _JSON_FIELDS:
        data[field] = json.dumps(data[field], separators=(",", ":"))
    item = {k: _serialize(v) for k, v in data.items()} | _user_key(reader.user_id) | {"list_partition": {"S": "READER"}}
    due = _due(reader.link_expires_at, reader.access_expires_at)
    if due is not None:
        item |= {"due_at": _serialize(due), "due_bucket": _serialize(expiry_bucket(due))}
    return item


def _due(*times: int | None) -> int | None:
    """When cleanup should next look at a reader: the earliest of its link and access expiries."""
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _from_item(item: dict) -> Reader:
    data = {k: _deserialize(v) for k, v in item.items() if k not in _INTERNAL}
    for field in _JSON_FIELDS:
        data[field] = json.loads(data.get(field, "{}"))
    return Reader.model_validate(data)


def _conditional_update(**request: Any) -> dict:
    """One UpdateItem whose condition may fail: the item's attributes as ReturnValues asks, or
    ConditionFailed carrying the item as it was (when ReturnValuesOnConditionCheckFailure asks for it)."""
    try:
        with _calls():
            return _client().update_item(**request).get("Attributes", {})
    except _client().exceptions.ConditionalCheckFailedException as exc:
        raise ConditionFailed.from_response(exc.response) from exc


def _applied(**request: Any) -> bool:
    """One UpdateItem whose condition may fail: whether it applied."""
    try:
        _conditional_update(**request)
    except ConditionFailed:
        return False
    return True


def _values(**values: Any) -> dict:
    return {f":{k}": _serialize(v) for k, v in values.items()}


def _event(at: int, event: str, by: str | None) -> list:
    """A one-element list for list_append onto a reader's history."""
    return [{"at": at, "event": event, "by": by}]


def expiry_bucket(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def _count_action(counter: Counter, now: int) -> dict:
    condition = "attribute_not_exists(hits) OR (hits < :limit"
    values: dict[str, Any] = {"one": 1, "now": now, "limit": counter.limit, "expires": counter.start + counter.window}
    if counter.spacing:
        condition += " AND last_at <= :spaced"
        values["spaced"] = now - counter.spacing
    return {
        "TableName": _table(),
        "Key": {"pk": {"S": f"RATE#{counter.subject}"}, "sk": {"S": str(counter.start)}},
        "UpdateExpression": "ADD hits :one SET last_at = :now, #ttl = :expires",
        "ConditionExpression": condition + ")",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": _values(**values),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def count(counters: list[Counter], *, now: int) -> None:
    """Count one hit on every counter, all or none, in one round trip (one transaction).

    LimitReached (the first counter that refused) when any is full or hit too soon; nothing is counted then.
    """
    _transact([{"Update": _count_action(counter, now)} for counter in counters], counters, offset=0)


def _limit_reached(counter: Counter, item: dict | None) -> LimitReached:
    item = item or {}
    hits = int(item["hits"]["N"]) if "hits" in item else 0
    last_at = int(item["last_at"]["N"]) if "last_at" in item else 0
    return LimitReached(counter, hits, last_at)


def find_user_id(email: str) -> str | None:
    with _calls():
        item = _client().get_item(TableName=_table(), Key=_email_key(email), ConsistentRead=True).get("Item")
    return item["user_id"]["S"] if item else None


class EmailTaken(Exception):
    """The email is someone's already: `user_id` is its pointer's user (None if it could not be read)."""

    def __init__(self, user_id: str | None):
        super().__init__("email taken")
        self.user_id = user_id


def create_reader(
    reader: Reader, *, now: int, replaces_user_id: str | None = None, counters: list[Counter] | None = None
) -> None:
    """Write a new reader and claim its email, counting against `counters` in the same transaction.

    EmailTaken (with the pointer's user id) if the email is claimed; LimitReached if a counter refused
    (nothing is written or counted then). `replaces_user_id` lets the claim take over an email pointer
    whose reader item is gone (a revoked invite that expiry removed half of).
    """
    email_put: dict[str, Any] = {
        "TableName": _table(),
        "Item": _email_key(reader.email) | {"user_id": {"S": reader.user_id}},
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if replaces_user_id:
        email_put["ConditionExpression"] += " OR user_id = :stale"
        email_put["ExpressionAttributeValues"] = _values(stale=replaces_user_id)
    reader_put = {"TableName": _table(), "Item": _to_item(reader), "ConditionExpression": "attribute_not_exists(pk)"}
    counters = counters or []
    actions = [{"Put": email_put}, {"Put": reader_put}, *({"Update": _count_action(c, now)} for c in counters)]
    _transact(actions, counters, offset=2)


def _transact(actions: list[dict], counters: list[Counter], *, offset: int) -> None:
    """One transaction whose actions from `offset` on count against `counters`.

    LimitReached when a counter refused; EmailTaken when the first action (an email claim) did; a
    collision with a concurrent transaction is retried a few times with jitter, then 503.
    """
    for attempt in range(_CONFLICT_ATTEMPTS):
        try:
            with _calls():
                _client().transact_write_items(TransactItems=actions)
            return
        except _client().exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            refused = [reason.get("Code") == "ConditionalCheckFailed" for reason in reasons]
            for counter, reason in zip(counters, reasons[offset:], strict=False):
                if reason.get("Code") == "ConditionalCheckFailed":
                    raise _limit_reached(counter, reason.get("Item")) from None
            if any(refused[:offset]):
                item = reasons[0].get("Item", {})
                raise EmailTaken(item["user_id"]["S"] if "user_id" in item else None) from None
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 (jitter after a transaction conflict)
    raise ServiceUnavailable("Too many concurrent requests; retry.", headers={"Retry-After": "1"})


def reissue_link(
    user_id: str,
    *,
    now: int,
    renew: bool,
    link_hash: str,
    link_expires_at: int,
    link_reusable: bool,
    link_url: str,
    invited_by: str,
    grant: dict[str, Any] | None,
    profile: dict[str, Any],
    event: str = "link_issued",
    not_since: int | None = None,
    link_options: dict[str, Any] | None = None,
    force: bool = False,
    delivery: str = "email",
) -> Reader:
    """Give an existing reader a new link (the old one stops matching) and the invite's grant terms.

    Without `renew` it applies only to a live grant (pending or active, not past its access expiry)
    and keeps its status; with `renew` it restarts a revoked or expired grant as pending.
    `link_options` ({link_code_challenge, link_session_minutes}) sets the new link's PKCE challenge
    and hosted-mode session length (None removes one; a key left out keeps it).
    `grant` ({role, access_expires_at}) sets the grant's terms (an invite); None keeps them (a re-link).
    `not_since` also refuses it when the current link was issued after that time (a cooldown).
    It refuses an address that hard-bounced, unless `force`, which also clears that mark.
    The new link is `sending` until mark_delivery says what became of its email (`delivery` email),
    or `none` (returned to the caller).
    Returns the reader as written; ConditionFailed (with the old item) when it did not apply.
    """
    link_options = link_options or {}
    sets = {
        "link_hash": link_hash,
        "link_issued_at": now,
        "link_expires_at": link_expires_at,
        "link_reusable": link_reusable,
        "link_url": link_url,
        "link_delivery": "sending" if delivery == "email" else "none",
        "invited_at": now,
        "invited_by": invited_by,
    }
    sets.update({k: json.dumps(v, separators=(",", ":")) if k in _JSON_FIELDS else v for k, v in profile.items()})
    removes = ["link_used_at", "link_deactivated_at", "link_sent_at", "link_message_id", "link_delivery_error"]
    for option, value in link_options.items():
        if value is None:
            removes.append(option)
        else:
            sets[option] = value
    if grant is not None:
        sets["role"] = grant["role"]
        if grant["access_expires_at"] is None:
            removes.append("access_expires_at")
        else:
            sets["access_expires_at"] = grant["access_expires_at"]
    values = {f"v_{k}": v for k, v in sets.items()} | {"event": _event(now, event, invited_by), "empty": []}
    if renew:
        sets["grant_status"] = "pending"
        values["v_grant_status"] = "pending"
        removes += ["revoked_at", "revoked_by", "ttl", "expiry_bucket"]
        condition = "attribute_exists(pk)"
    else:
        values |= {"pending": "pending", "active": "active", "now": now}
        condition = (
            "grant_status IN (:pending, :active)"
            " AND (attribute_not_exists(access_expires_at) OR access_expires_at > :now)"
        )
    if not_since is not None:
        condition += " AND (attribute_not_exists(link_issued_at) OR link_issued_at <= :not_since)"
        values["not_since"] = not_since
    if force:
        removes += ["email_status", "email_status_at"]
    else:
        condition += " AND (attribute_not_exists(email_status) OR email_status <> :bounced)"
        values["bounced"] = "bounced"
    due = _due(link_expires_at, grant["access_expires_at"] if grant else None)
    sets["due_at"], sets["due_bucket"] = due, expiry_bucket(due)
    values |= {"v_due_at": due, "v_due_bucket": expiry_bucket(due)}
    names = {f"#{k}": k for k in [*sets, *removes]}
    update = (
        "SET "
        + ", ".join(f"#{k} = :v_{k}" for k in sets)
        + ", history = list_append(if_not_exists(history, :empty), :event)"
        + " REMOVE "
        + ", ".join(f"#{k}" for k in removes)
    )
    new = _conditional_update(
        TableName=_table(),
        Key=_user_key(user_id),
        UpdateExpression=update,
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=_values(**values),
        ReturnValues="ALL_NEW",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    return _from_item(new)


def mark_delivery(user_id: str, link_hash: str, *, at: int, message_id: str | None = None, error: str = "") -> bool:
    """Record what became of a link's email: sent (SES's message id) or failed (the error type).

    Applies only while that link is the reader's current one (a newer link has its own delivery).
    """
    if error:
        sets = "link_delivery = :failed, link_delivery_error = :error"
        values: dict[str, Any] = {"failed": "failed", "error": error}
    else:
        sets = "link_delivery = :sent, link_sent_at = :at, link_message_id = :id"
        values = {"sent": "sent", "at": at, "id": message_id or ""}
    values["h"] = link_hash
    return _applied(
        TableName=_table(),
        Key=_user_key(user_id),
        UpdateExpression=f"SET {sets}",
        ConditionExpression="link_hash = :h",
        ExpressionAttributeValues=_values(**values),
    )


def consume_link(
    user_id: str,
    link_hashes: list[str],
    *,
    now: int,
    code_challenge: str | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    new_session: tuple[str, SessionEntry] | None = None,
    extend_session: tuple[str, list[str] | None, int | None] | None = None,
) -> Reader:
    """The single-use step: one conditional write that spends the link and activates user and grant,
    and creates (`new_session`: sid, entry) or extends (`extend_session`: sid, the token's hashes or None
    for a verified JWT, new expiry or None to keep it)
    a session in the same write, so a spent link without its session can never be.

    Applies only if the link is the reader's current one, unexpired, unspent (or reusable), the grant
    is live, the PKCE challenge matches (`code_challenge` is S256 of the verifier; None means the link
    must have none), and the invite's IP address / user agent match where given.
    Returns the reader after the write; ConditionFailed (with the old item) otherwise.
    """
    sets = [
        "link_used_at = :now",
        "user_status = :active",
        "grant_status = :active",
        "last_authenticated_at = :now",
        "authentication_count = if_not_exists(authentication_count, :zero) + :one",
    ]
    hash_names = [f":hash{i}" for i in range(len(link_hashes))]  # the token under each accepted key
    conditions = [
        f"link_hash IN ({', '.join(hash_names)}) AND link_expires_at > :now",
        "(attribute_not_exists(link_used_at) OR link_reusable = :true)",
        "grant_status IN (:pending, :active)",
        "(attribute_not_exists(access_expires_at) OR access_expires_at > :now)",
    ]
    values: dict[str, Any] = {"now": now, "active": "active", "pending": "pending", "zero": 0, "one": 1, "true": True}
    values |= {name[1:]: h for name, h in zip(hash_names, link_hashes, strict=True)}
    names: dict[str, str] = {}
    if code_challenge is None:
        conditions.append("attribute_not_exists(link_code_challenge)")
    else:
        conditions.append("link_code_challenge = :challenge")
        values["challenge"] = code_challenge
    if ip_address is not None:
        conditions.append("invite_attributes.ip_address = :ip")
        values["ip"] = ip_address
    if user_agent is not None:
        conditions.append("invite_attributes.user_agent = :ua")
        values["ua"] = user_agent
    if new_session is not None:
        sid, entry = new_session
        # A reader with nothing else due is now due when this session ends, so cleanup prunes it.
        sets += [
            "sessions.#sid = :session",
            "due_at = if_not_exists(due_at, :session_ends)",
            "due_bucket = if_not_exists(due_bucket, :session_bucket)",
        ]
        names["#sid"] = sid
        values |= {
            "session": entry.model_dump(),
            "session_ends": entry.expires_at,
            "session_bucket": expiry_bucket(entry.expires_at),
        }
    if extend_session is not None:
        sid, session_hashes, expires_at = extend_session
        sets += ["sessions.#sid.last_accessed_at = :now", "sessions.#sid.authenticated_at = :now"]
        conditions.append("sessions.#sid.expires_at > :now")
        names["#sid"] = sid
        if expires_at is not None:
            sets.append("sessions.#sid.expires_at = :session_expires")
            values["session_expires"] = expires_at
        if session_hashes:  # a session_token; a verified session_jwt has proven the session already
            names_ = [f":session_hash{i}" for i in range(len(session_hashes))]
            conditions.append(f"sessions.#sid.h IN ({', '.join(names_)})")
            values |= {name[1:]: h for name, h in zip(names_, session_hashes, strict=True)}
    request: dict[str, Any] = {
        "TableName": _table(),
        "Key": _user_key(user_id),
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": _values(**values),
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if names:
        request["ExpressionAttributeNames"] = names
    return _from_item(_conditional_update(**request))


def extend_session(
    user_id: str, sid: str, session_hash: str, *, now: int, expires_at: int, claims_json: str | None
) -> Reader:
    """Touch a live session (and move its expiry, set its custom claims); ConditionFailed if it is not live."""
    sets = ["sessions.#sid.last_accessed_at = :now", "sessions.#sid.expires_at = :expires"]
    values: dict[str, Any] = {"now": now, "expires": expires_at, "h": session_hash}
    if claims_json is not None:
        sets.append("sessions.#sid.custom_claims_json = :claims")
        values["claims"] = claims_json
    new = _conditional_update(
        TableName=_table(),
        Key=_user_key(user_id),
        UpdateExpression="SET " + ", ".join(sets),
        ConditionExpression="sessions.#sid.h = :h AND sessions.#sid.expires_at > :now",
        ExpressionAttributeNames={"#sid": sid},
        ExpressionAttributeValues=_values(**values),
        ReturnValues="ALL_NEW",
    )
    return _from_item(new)


def remove_sessions(user_id: str, sids: list[str], *, only_if_present: bool = True) -> bool:
    """End sessions (revoke, or prune expired ones); False if `only_if_present` and the first was gone."""
    names = {f"#s{i}": sid for i, sid in enumerate(sids)}
    request: dict[str, Any] = {
        "TableName": _table(),
        "Key": _user_key(user_id),
        "UpdateExpression": "REMOVE " + ", ".join(f"sessions.#s{i}" for i in range(len(sids))),
        "ExpressionAttributeNames": names,
    }
    if only_if_present:
        request["ConditionExpression"] = "attribute_exists(sessions.#s0)"
    return _applied(**request)


def revoke(user_id: str, *, now: int, by: str, delete_at: int, pending_only: bool = False) -> Reader:
    """Revoke a grant: its link stops matching at once, and the reader is kept until `delete_at` as a record
    (which is also when cleanup next looks at it).

    `pending_only` limits it to users who never authenticated (Stytch's revoke_invite).
    Returns the reader after the write; ConditionFailed (with the item as it is) when the grant was
    already revoked, the user is not pending though `pending_only` asked so, or there is no reader.
    """
    condition = "grant_status <> :revoked"
    values = {
        "revoked": "revoked",
        "now": now,
        "by": by,
        "delete_at": delete_at,
        "bucket": expiry_bucket(delete_at),
        "event": _event(now, "revoked", by),
        "empty": [],
    }
    if pending_only:
        condition += " AND user_status = :pending"
        values["pending"] = "pending"
    new = _conditional_update(
        TableName=_table(),
        Key=_user_key(user_id),
        UpdateExpression=(
            "SET grant_status = :revoked, revoked_at = :now, revoked_by = :by,"
            " #ttl = :delete_at, expiry_bucket = :bucket, due_at = :delete_at, due_bucket = :bucket,"
            " history = list_append(if_not_exists(history, :empty), :event)"
            " REMOVE link_hash"
        ),
        ConditionExpression=f"attribute_exists(pk) AND {condition}",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues=_values(**values),
        ReturnValues="ALL_NEW",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    return _from_item(new)


def deactivate_link(user_id: str, *, now: int, by: str) -> Reader:
    """The reader's link stops matching; the grant stays. ConditionFailed(None) when there is no reader."""
    new = _conditional_update(
        TableName=_table(),
        Key=_user_key(user_id),
        UpdateExpression=(
            "SET link_deactivated_at = :now,"
            " history = list_append(if_not_exists(history, :empty), :event) REMOVE link_hash"
        ),
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues=_values(now=now, event=_event(now, "link_deactivated", by), empty=[]),
        ReturnValues="ALL_NEW",
    )
    return _from_item(new)


def set_email_status(user_id: str, status: str, *, at: int) -> bool:
    """Mark the reader's address bounced or complained (a later event of the same kind keeps the first time)."""
    return _applied(
        TableName=_table(),
        Key=_user_key(user_id),
        UpdateExpression="SET email_status = :status, email_status_at = :at",
        ConditionExpression=(
            "attribute_exists(pk) AND (attribute_not_exists(email_status) OR email_status <> :status)"
        ),
        ExpressionAttributeValues=_values(status=status, at=at),
    )


def get_reader(user_id: str) -> Reader | None:
    with _calls():
        item = _client().get_item(TableName=_table(), Key=_user_key(user_id), ConsistentRead=True).get("Item")
    return _from_item(item) if item else None


def list_readers(
    *, email_prefix: str | None, filter_expression: str | None, filter_values: dict, limit: int, start: dict | None
) -> tuple[list[Reader], dict | None]:
    """One page of readers in email order, from the `by_email` index (one Query, never a scan).

    A filter can make a page shorter than `limit`; the returned key continues after it.
    """
    condition = "list_partition = :partition"
    values = {"partition": "READER"} | filter_values
    if email_prefix:
        condition += " AND begins_with(email, :prefix)"
        values["prefix"] = email_prefix
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": EMAIL_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": _values(**values),
        "Limit": limit,
    }
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
    if start:
        kwargs["ExclusiveStartKey"] = start
    with _calls():
        page = _client().query(**kwargs)
    return [_from_item(item) for item in page["Items"]], page.get("LastEvaluatedKey")


def record_access_request(email: str, *, now: int, not_since: int, delete_at: int) -> bool:
    """Record (or refresh) a stranger's request for access; False if they asked after `not_since` already."""
    return _applied(
        TableName=_table(),
        Key={"pk": {"S": f"REQUEST#{email}"}, "sk": {"S": "REQUEST"}},
        UpdateExpression=(
            "SET email = :email, list_partition = :partition, requested_at = :now, request_status = :pending,"
            " request_count = if_not_exists(request_count, :zero) + :one,"
            " #ttl = :delete_at, expiry_bucket = :bucket"
        ),
        ConditionExpression="attribute_not_exists(pk) OR requested_at <= :not_since",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues=_values(
            email=email,
            partition="REQUEST",
            now=now,
            pending="pending",
            zero=0,
            one=1,
            delete_at=delete_at,
            bucket=expiry_bucket(delete_at),
            not_since=not_since,
        ),
    )


def resolve_access_request(email: str, *, status: str) -> bool:
    """Mark a stranger's request granted or dismissed (it stays until its retention passes); False if none."""
    return _applied(
        TableName=_table(),
        Key={"pk": {"S": f"REQUEST#{email}"}, "sk": {"S": "REQUEST"}},
        UpdateExpression="SET request_status = :status",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues=_values(status=status),
    )


def pending_access_requests(limit: int = 100) -> list[dict]:
    """Strangers' requests still waiting for the owner, in email order (one Query on the by_email index)."""
    with _calls():
        page = _client().query(
            TableName=_table(),
            IndexName=EMAIL_INDEX,
            KeyConditionExpression="list_partition = :partition",
            FilterExpression="request_status = :pending",
            ExpressionAttributeValues=_values(partition="REQUEST", pending="pending"),
            Limit=limit,
        )
    return [
        {
            "email": item["email"]["S"],
            "requested_at": int(item["requested_at"]["N"]),
            "request_count": int(item["request_count"]["N"]),
        }
        for item in page["Items"]
    ]


def expired_items(bucket: str, *, now: int) -> Iterator[tuple[dict, str]]:
    """(key, email) of the items in one day's expiry bucket whose ttl has passed; reads only those."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": EXPIRY_INDEX,
        "KeyConditionExpression": "expiry_bucket = :bucket AND #ttl <= :now",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": _values(bucket=bucket, now=now),
    }
    while True:
        with _calls():
            page = _client().query(**kwargs)
        for item in page["Items"]:
            yield {"pk": item["pk"], "sk": item["sk"]}, item["email"]["S"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def delete_expired(items: list[tuple[dict, str]], *, now: int) -> int:
    """Delete expired items in transactions of up to 100 actions (a reader goes with its email pointer).

    Each delete applies only if the item's ttl is still past (a re-invite may have revived it since the
    index was read); an item whose condition fails is left alone and the rest of its batch is retried.
    Returns how many items were deleted.
    """
    deleted = 0
    batch: list[tuple[dict, str]] = []
    actions = 0
    for key, email in items:
        size = 2 if key["sk"]["S"] == "USER" else 1
        if actions + size > _TRANSACTION_LIMIT:
            deleted += _delete_batch(batch, now)
            batch, actions = [], 0
        batch.append((key, email))
        actions += size
    if batch:
        deleted += _delete_batch(batch, now)
    return deleted


def _delete_actions(key: dict, email: str, now: int) -> list[dict]:
    actions = [
        {
            "Delete": {
                "TableName": _table(),
                "Key": key,
                "ConditionExpression": "#ttl <= :now",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
                "ExpressionAttributeValues": _values(now=now),
            }
        }
    ]
    if key["sk"]["S"] == "USER":
        actions.append(
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": _email_key(email),
                    "ConditionExpression": "attribute_not_exists(pk) OR user_id = :user_id",
                    "ExpressionAttributeValues": _values(user_id=key["pk"]["S"].removeprefix("USER#")),
                }
            }
        )
    return actions


def _delete_batch(batch: list[tuple[dict, str]], now: int) -> int:
    while batch:
        grouped = [_delete_actions(key, email, now) for key, email in batch]
        try:
            with _calls():
                _client().transact_write_items(TransactItems=[a for group in grouped for a in group])
            return len(batch)
        except _client().exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            failed, position = set(), 0
            for index, group in enumerate(grouped):
                codes = [reasons[position + i].get("Code") for i in range(len(group)) if position + i < len(reasons)]
                if any(code not in (None, "None") for code in codes):
                    failed.add(index)
                position += len(group)
            if not failed:  # cancelled for another reason (a conflict): give up on this batch until next run
                return 0
            batch = [item for index, item in enumerate(batch) if index not in failed]
    return 0


def due_readers(bucket: str, *, now: int) -> Iterator[tuple[Reader, int]]:
    """(reader, due_at) of the readers in one day's due bucket whose time has come; reads only those."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": DUE_INDEX,
        "KeyConditionExpression": "due_bucket = :bucket AND due_at <= :now",
        "ExpressionAttributeValues": _values(bucket=bucket, now=now),
    }
    while True:
        with _calls():
            page = _client().query(**kwargs)
        for item in page["Items"]:
            yield _from_item(item), int(item["due_at"]["N"])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def settle(reader: Reader, seen_due: int, *, now: int, expire: bool, next_due: int | None) -> bool:
    """Cleanup's one write for a due reader: mark the grant expired, or move (or clear) its due time,
    and drop sessions that have expired. Applies only if nobody changed the reader's due time since
    it was read (an invite or re-link in between wins). False when it did not apply."""
    expired_sessions = [sid for sid, entry in reader.sessions.items() if entry.expires_at <= now]
    names = {f"#s{i}": sid for i, sid in enumerate(expired_sessions)}
    removes = [f"sessions.#s{i}" for i in range(len(expired_sessions))]
    sets: list[str] = []
    values: dict[str, Any] = {"seen": seen_due}
    if expire:
        sets += [
            "grant_status = :expired",
            "history = list_append(if_not_exists(history, :empty), :event)",
        ]
        removes += ["link_hash", "due_at", "due_bucket"]
        values |= {"expired": "expired", "empty": [], "event": _event(now, "expired", "cleanup")}
    elif next_due is None:
        removes += ["due_at", "due_bucket"]
    else:
        sets += ["due_at = :due", "due_bucket = :bucket"]
        values |= {"due": next_due, "bucket": expiry_bucket(next_due)}
    expression = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
    request: dict[str, Any] = {
        "TableName": _table(),
        "Key": _user_key(reader.user_id),
        "UpdateExpression": expression.strip(),
        "ConditionExpression": "due_at = :seen",
        "ExpressionAttributeValues": _values(**values),
    }
    if names:
        request["ExpressionAttributeNames"] = names
    return _applied(**request)
