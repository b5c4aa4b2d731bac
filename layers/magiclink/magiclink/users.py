"""Stytch's Users API over the readers: a user by id, their profile updated, their erasure, and search
served by the table's keys and the by_email index (never a scan). Knows neither HTTP nor boto3."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from . import limits, listing, store
from .errors import BadRequest, InvalidMetadata, UnsupportedSearchFilter, UserNotFound
from .models.items import Reader
from .models.requests import SEARCH_FILTERS, SearchQuery, UserUpdateRequest
from .observability import logger, metrics
from .store.dynamo import ConditionFailed

METADATA_FIELDS = ("trusted_metadata", "untrusted_metadata")
# Stytch's limits on a metadata object; they also keep a reader item far below DynamoDB's 400 KB.
MAX_METADATA_KEYS = 20
MAX_METADATA_BYTES = 4096
DEFAULT_SEARCH_LIMIT = 100


def reader_of(user_id: str) -> Reader:
    """The reader with this user id; 404 user_not_found for an id that is nobody's."""
    reader = store.reader.get_reader(user_id)
    if reader is None:
        raise UserNotFound()
    return reader


def checked_metadata(field: str, value: dict) -> dict:
    """`value` if it is within Stytch's limits on a metadata object, else 400 invalid_metadata naming `field`."""
    if len(value) > MAX_METADATA_KEYS or len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise InvalidMetadata(f"{field}: at most {MAX_METADATA_KEYS} top-level keys and 4 KB of JSON.")
    return value


def _merged(current: dict, update: dict) -> dict:
    """Stytch's metadata update: merged at the top level only; a key set to null is deleted."""
    return {k: v for k, v in (current | update).items() if v is not None}


def update_user(user_id: str, request: UserUpdateRequest) -> Reader:
    """Name parts and the role replace what they name; metadata merges; nothing else changes (attributes are
    Stytch's fraud signals, accepted and not kept)."""
    if request.user_id is not None and request.user_id != user_id:
        raise BadRequest("user_id: the body names another user than the path.")
    updates = {name: value for name in METADATA_FIELDS if (value := getattr(request, name)) is not None}

    def merge(reader: Reader) -> dict[str, dict]:
        return {f: checked_metadata(f, _merged(getattr(reader, f), update)) for f, update in updates.items()}

    try:
        reader = store.reader.update_profile(
            user_id,
            name=request.name.given() if request.name else {},
            role=request.roles[0] if request.roles else None,
            merge=merge,
        )
    except ConditionFailed:
        raise UserNotFound() from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    logger.info("user updated", extra={"fields": sorted(request.model_dump(exclude_none=True))})
    return reader


def delete_user(user_id: str) -> None:
    """Erase the user: their reader (grant, link and sessions, which stop at once), their email pointer, the
    email's access request and rate-limit counters, and the idempotency records that name them."""
    reader = reader_of(user_id)
    try:
        store.erasure.erase(
            reader,
            counter_subjects=[
                limits.email_subject(reader.email),
                limits.public_email_subject(reader.email),
                limits.public_code_subject(reader.email),
            ],
        )
    except ConditionFailed:
        raise UserNotFound() from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="UsersDeleted", unit=MetricUnit.Count, value=1)
    logger.info("user deleted")


# --- search ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Filter:
    """One operand as a FilterExpression on the by_email Query, and the same test on a reader in hand."""

    expression: str
    values: dict[str, Any]
    test: Callable[[Reader], bool]


@dataclass
class _Plan:
    ids: set[str] | None = None  # user_id / email_address: a known set of users, read by key
    prefixes: list[str] = field(default_factory=list)  # email_address_fuzzy
    filters: list[_Filter] = field(default_factory=list)

    def holds(self, reader: Reader) -> bool:
        return all(reader.email.startswith(p) for p in self.prefixes) and all(f.test(reader) for f in self.filters)


def _epoch(value: Any) -> int:
    return int(value.timestamp())


def _filter(name: str, value: Any, n: int) -> _Filter:
    if name == "status":
        return _Filter(f"user_status = :f{n}", {f"f{n}": value}, lambda r: r.user_status == value)
    if name == "created_at_greater_than":
        after = _epoch(value)
        return _Filter(f"created_at > :f{n}", {f"f{n}": after}, lambda r: r.created_at > after)
    if name == "created_at_less_than":
        before = _epoch(value)
        return _Filter(f"created_at < :f{n}", {f"f{n}": before}, lambda r: r.created_at < before)
    after, before = _epoch(value.greater_than), _epoch(value.less_than)  # created_at_between
    return _Filter(
        f"created_at > :f{n}a AND created_at < :f{n}b",
        {f"f{n}a": after, f"f{n}b": before},
        lambda r: after < r.created_at < before,
    )


def _plan(query: SearchQuery | None) -> tuple[_Plan, list]:
    """The operands checked and sorted into how they are served, and their canonical form (what a cursor is
    bound to). Every operand must hold (AND); OR is Stytch's deprecated operator, served for one operand only."""
    operands = (query.operands or []) if query else []
    if query and query.operator == "OR" and len(operands) > 1:
        raise BadRequest("query.operator: OR is deprecated by Stytch and not served here; search once per operand.")
    plan, canonical = _Plan(), []
    for n, operand in enumerate(operands):
        adapter = SEARCH_FILTERS.get(operand.filter_name)
        if adapter is None:
            raise UnsupportedSearchFilter(
                f"query.operands[{n}].filter_name: {operand.filter_name} is not supported here;"
                f" the filters served are {', '.join(SEARCH_FILTERS)}."
            )
        try:
            value = adapter.validate_python(operand.filter_value)
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise BadRequest(f"query.operands[{n}].filter_value ({operand.filter_name}): {message}") from None
        canonical.append([operand.filter_name, adapter.dump_python(value, mode="json")])
        if operand.filter_name in ("user_id", "email_address"):
            ids = set(value) if operand.filter_name == "user_id" else _user_ids(value)
            plan.ids = ids if plan.ids is None else plan.ids & ids
        elif operand.filter_name == "email_address_fuzzy":
            plan.prefixes.append(listing.normalize_prefix(value) or "")
        else:
            plan.filters.append(_filter(operand.filter_name, value, n))
    return plan, canonical


def _user_ids(emails: list[str]) -> set[str]:
    return {user_id for email in emails if (user_id := store.reader.find_user_id(email))}


def search_users(
    query: SearchQuery | None, *, limit: int | None, cursor: str | None
) -> tuple[list[Reader], int, str | None]:
    """(a page of matching readers, total, next cursor). A query that names user_id or email_address reads
    those users by key (at most 100 each) and filters them in hand; any other is one Query of the by_email
    index a page: email_address_fuzzy (a prefix) in its key condition, status and created_at as a filter.
    A filter reads the items it drops, so such a page can hold fewer than `limit` results (total counts the
    page then); follow next_cursor until it is null."""
    limit = limit or DEFAULT_SEARCH_LIMIT
    plan, canonical = _plan(query)
    start = listing.decode_cursor(cursor, canonical) if cursor else None
    if plan.ids is not None:
        found = [store.reader.get_reader(user_id) for user_id in sorted(plan.ids)]
        matches = sorted((r for r in found if r is not None and plan.holds(r)), key=lambda r: r.email)
        offset = int(start["offset"]) if start else 0
        more = offset + limit < len(matches)
        next_cursor = listing.encode_cursor({"offset": offset + limit}, canonical) if more else None
        return matches[offset : offset + limit], len(matches), next_cursor
    prefixes = sorted(plan.prefixes, key=len)
    if prefixes and not all(prefixes[-1].startswith(p) for p in prefixes):
        return [], 0, None  # two prefixes no email can start with both
    named: dict[str, Any] = {}
    for f in plan.filters:
        named |= f.values
    readers, last_key = store.reader.list_readers(
        email_prefix=prefixes[-1] if prefixes else None,
        filter_expression=" AND ".join(f.expression for f in plan.filters) or None,
        filter_values=named,
        limit=limit,
        start=start,
    )
    return readers, len(readers), listing.encode_cursor(last_key, canonical) if last_key else None
