"""A reader's link, inside its item: reissue it (one LinkIssue), record what became of its email, and
spend it (the single-use conditional write that also creates or extends the session)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ServiceUnavailable
from ..models.items import MAX_CODE_TRIES, MAX_SESSIONS, Reader, SessionEntry
from .codec import JSON_FIELDS, due, event, from_item
from .dynamo import ConditionFailed, applied, conditional_update, expiry_bucket, table, user_key, values
from .reader import keep_newest_history, remove_sessions

# Concurrent sign-ins each end the oldest sessions after their write, so a reader may briefly hold more
# than MAX_SESSIONS; never more than this (30 of the widest sessions are ~270 KB, under the 400 KB limit).
SESSIONS_CEILING = MAX_SESSIONS + 10
_SESSION_ATTEMPTS = 3


@dataclass(frozen=True)
class LinkIssue:
    """A new link for an existing reader, and what the invite or re-link that issues it sets.

    `renew` restarts a revoked or expired grant as pending; without it the write applies only to a live
    grant (pending or active, not past its access expiry) and keeps its status.
    `link_options` ({link_code_challenge, link_session_minutes}) sets the new link's PKCE challenge and
    hosted-mode session length (None removes one; a key left out keeps it).
    `grant` ({role, access_expires_at}) sets the grant's terms (an invite); None keeps them (a re-link).
    `not_since` also refuses it when the current link was issued after that time and still works (a
    cooldown: a deactivated, spent, expired or revoked link holds nobody back).
    It refuses an address that hard-bounced, unless `force`, which also clears that mark.
    The new link is `sending` until mark_delivery says what became of its email (`delivery` email),
    or `none` (returned to the caller). `code_hash` is the one-time code emailed with it (None: no code),
    valid until `code_expires_at`; an older link's code ends with it.
    """

    now: int
    link_hash: str
    link_expires_at: int
    link_reusable: bool
    link_url: str
    invited_by: str
    renew: bool = False
    grant: dict[str, Any] | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    event: str = "link_issued"
    not_since: int | None = None
    link_options: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    delivery: Literal["email", "none"] = "email"
    code_hash: str | None = None
    code_expires_at: int | None = None


_CODE_FIELDS = ["code_hash", "code_expires_at", "code_tries"]


def reissue_link(user_id: str, issue: LinkIssue) -> Reader:
    """Give an existing reader a new link (the old one stops matching) and the issue's terms (see LinkIssue).

    Returns the reader as written; ConditionFailed (with the old item) when it did not apply.
    """
    now = issue.now
    sets = {
        "link_hash": issue.link_hash,
        "link_issued_at": now,
        "link_expires_at": issue.link_expires_at,
        "link_reusable": issue.link_reusable,
        "link_url": issue.link_url,
        "link_delivery": "sending" if issue.delivery == "email" else "none",
        "invited_at": now,
        "invited_by": issue.invited_by,
    }
    sets.update({k: json.dumps(v, separators=(",", ":")) if k in JSON_FIELDS else v for k, v in issue.profile.items()})
    removes = ["link_used_at", "link_deactivated_at", "link_sent_at", "link_message_id", "link_delivery_error"]
    removes.append("code_tries")
    if issue.code_hash is None:
        removes += ["code_hash", "code_expires_at"]
    else:
        sets |= {"code_hash": issue.code_hash, "code_expires_at": issue.code_expires_at}
    for option, value in issue.link_options.items():
        if value is None:
            removes.append(option)
        else:
            sets[option] = value
    grant = issue.grant
    if grant is not None:
        sets["role"] = grant["role"]
        if grant["access_expires_at"] is None:
            removes.append("access_expires_at")
        else:
            sets["access_expires_at"] = grant["access_expires_at"]
    named = {f"v_{k}": v for k, v in sets.items()} | {"event": event(now, issue.event, issue.invited_by), "empty": []}
    if issue.renew:
        sets["grant_status"] = "pending"
        named["v_grant_status"] = "pending"
        removes += ["revoked_at", "revoked_by", "ttl", "expiry_bucket"]
        condition = "attribute_exists(pk)"
    else:
        named |= {"pending": "pending", "active": "active", "now": now}
        condition = (
            "grant_status IN (:pending, :active)"
            " AND (attribute_not_exists(access_expires_at) OR access_expires_at > :now)"
        )
    if issue.not_since is not None:
        # The current link counts only while it still works: Reader.link_state_at is "active" (a deactivated
        # or revoked link has no hash; a spent one works on only if reusable).
        condition += (
            " AND (attribute_not_exists(link_issued_at) OR link_issued_at <= :not_since"
            " OR attribute_not_exists(link_hash) OR link_expires_at <= :now"
            " OR (attribute_exists(link_used_at) AND link_reusable <> :true))"
        )
        named |= {"not_since": issue.not_since, "now": now, "true": True}
    if issue.force:
        removes += ["email_status", "email_status_at"]
    else:
        condition += " AND (attribute_not_exists(email_status) OR email_status <> :bounced)"
        named["bounced"] = "bounced"
    due_at = due(issue.link_expires_at, grant["access_expires_at"] if grant else None)
    sets["due_at"], sets["due_bucket"] = due_at, expiry_bucket(due_at)
    named |= {"v_due_at": due_at, "v_due_bucket": expiry_bucket(due_at)}
    names = {f"#{k}": k for k in [*sets, *removes]}
    update = (
        "SET "
        + ", ".join(f"#{k} = :v_{k}" for k in sets)
        + ", history = list_append(if_not_exists(history, :empty), :event)"
        + " REMOVE "
        + ", ".join(f"#{k}" for k in removes)
    )
    new = conditional_update(
        from_item,
        TableName=table(),
        Key=user_key(user_id),
        UpdateExpression=update,
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values(**named),
        ReturnValues="ALL_NEW",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    return keep_newest_history(from_item(new))


def mark_delivery(user_id: str, link_hash: str, *, at: int, message_id: str | None = None, error: str = "") -> bool:
    """Record what became of a link's email: sent (SES's message id) or failed (the error type).

    Applies only while that link is the reader's current one (a newer link has its own delivery).
    """
    if error:
        sets = "link_delivery = :failed, link_delivery_error = :error"
        named: dict[str, Any] = {"failed": "failed", "error": error}
    else:
        sets = "link_delivery = :sent, link_sent_at = :at, link_message_id = :id"
        named = {"sent": "sent", "at": at, "id": message_id or ""}
    named["h"] = link_hash
    return applied(
        TableName=table(),
        Key=user_key(user_id),
        UpdateExpression=f"SET {sets}",
        ConditionExpression="link_hash = :h",
        ExpressionAttributeValues=values(**named),
    )


def reserve_code_try(user_id: str, *, now: int, issued_since: int | None = None) -> bool:
    """Count one try of the reader's code, before it is checked, so that concurrent guesses never get more
    than MAX_CODE_TRIES between them. False when it may not be tried: no code, expired, spent, its link gone,
    its tries used up, or (`issued_since`) its link issued before that time."""
    condition = (
        "attribute_exists(code_hash) AND code_expires_at > :now AND attribute_exists(link_hash)"
        " AND attribute_not_exists(link_used_at) AND (attribute_not_exists(code_tries) OR code_tries < :max)"
    )
    named: dict[str, Any] = {"now": now, "max": MAX_CODE_TRIES, "zero": 0, "one": 1}
    if issued_since is not None:
        condition += " AND link_issued_at >= :since"
        named["since"] = issued_since
    return applied(
        TableName=table(),
        Key=user_key(user_id),
        UpdateExpression="SET code_tries = if_not_exists(code_tries, :zero) + :one",
        ConditionExpression=condition,
        ExpressionAttributeValues=values(**named),
    )


def exchange_code(user_id: str, code_hashes: list[str], *, now: int, new_link_hash: str) -> Reader:
    """A correct code for an app's link (its backend authenticates the token, not this service): the code
    and the emailed link end, and a new token (`new_link_hash`) becomes the link, for the app to spend.
    Returns the reader after the write; ConditionFailed (with the old item) when the code did not match."""
    hash_names = [f":code{i}" for i in range(len(code_hashes))]
    new = conditional_update(
        from_item,
        TableName=table(),
        Key=user_key(user_id),
        UpdateExpression="SET link_hash = :new REMOVE " + ", ".join(_CODE_FIELDS),
        ConditionExpression=" AND ".join([*_code_conditions(hash_names), *_LIVE_GRANT]),
        ExpressionAttributeValues=values(
            new=new_link_hash,
            **_code_values(now),
            **{name[1:]: h for name, h in zip(hash_names, code_hashes, strict=True)},
        ),
        ReturnValues="ALL_NEW",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    return from_item(new)


_LIVE_GRANT = [
    "grant_status IN (:pending, :active)",
    "(attribute_not_exists(access_expires_at) OR access_expires_at > :now)",
]


def _code_conditions(hash_names: list[str]) -> list[str]:
    """The code matches, is unexpired and was counted (reserve_code_try) within its tries; its link is
    current, unexpired and unspent."""
    return [
        f"code_hash IN ({', '.join(hash_names)}) AND code_expires_at > :now AND code_tries <= :max_tries",
        "attribute_exists(link_hash) AND link_expires_at > :now AND attribute_not_exists(link_used_at)",
    ]


def _code_values(now: int) -> dict[str, Any]:
    return {"now": now, "max_tries": MAX_CODE_TRIES, "pending": "pending", "active": "active"}


@dataclass(frozen=True)
class SessionExtension:
    """The session an authenticate extends: `token_hashes` (None for a verified JWT, which has proven the
    session already), a new expiry (None keeps it) and new custom claims as JSON (None keeps them)."""

    sid: str
    token_hashes: list[str] | None = None
    expires_at: int | None = None
    claims_json: str | None = None


def consume_link(
    user_id: str,
    link_hashes: list[str],
    *,
    now: int,
    code_challenge: str | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    new_session: tuple[str, SessionEntry] | None = None,
    extend_session: SessionExtension | None = None,
    seen: Reader | None = None,
    code_hashes: list[str] | None = None,
) -> Reader:
    """The single-use step: one conditional write that spends the link and activates user and grant,
    and creates (`new_session`: sid, entry) or extends (`extend_session`) a session in the same write,
    so a spent link without its session can never be.

    A new session past MAX_SESSIONS ends the oldest (Reader.sessions_over_cap): in that same write when the
    reader as `seen` by the caller says which, otherwise in a second write once this one shows them.

    Applies only if the link is the reader's current one, unexpired, unspent (or reusable), its code's
    tries are not used up, the grant is live, the PKCE challenge matches (`code_challenge` is S256 of the
    verifier; None means the link must have none), and the invite's IP address / user agent match where given.
    With `code_hashes` the link's one-time code is presented instead of its token (reserve_code_try counted
    the try): the code must match and be live, and PKCE does not apply (the code is the other-device path).
    Either way link and code are spent together (a reusable link ends with its code).
    Returns the reader after the write; ConditionFailed (with the old item) otherwise.
    """
    sets = [
        "link_used_at = :now",
        "user_status = :active",
        "grant_status = :active",
        "last_authenticated_at = :now",
        "authentication_count = if_not_exists(authentication_count, :zero) + :one",
    ]
    named: dict[str, Any] = {"now": now, "active": "active", "pending": "pending", "zero": 0, "one": 1}
    named["max_tries"] = MAX_CODE_TRIES
    if code_hashes is not None:
        hash_names = [f":code{i}" for i in range(len(code_hashes))]
        conditions = _code_conditions(hash_names)
        named |= {name[1:]: h for name, h in zip(hash_names, code_hashes, strict=True)}
        sets.append("link_reusable = :false")
        named["false"] = False
    else:
        hash_names = [f":hash{i}" for i in range(len(link_hashes))]  # the token under each accepted key
        conditions = [
            f"link_hash IN ({', '.join(hash_names)}) AND link_expires_at > :now",
            "(attribute_not_exists(link_used_at) OR link_reusable = :true)",
            "(attribute_not_exists(code_tries) OR code_tries < :max_tries)",
        ]
        named |= {name[1:]: h for name, h in zip(hash_names, link_hashes, strict=True)} | {"true": True}
    conditions += _LIVE_GRANT
    names: dict[str, str] = {}
    # A PKCE challenge binds the link, not its code: the code is the other-device path
    if code_hashes is None and code_challenge is None:
        conditions.append("attribute_not_exists(link_code_challenge)")
    elif code_hashes is None:
        conditions.append("link_code_challenge = :challenge")
        named["challenge"] = code_challenge
    if ip_address is not None:
        conditions.append("invite_attributes.ip_address = :ip")
        named["ip"] = ip_address
    if user_agent is not None:
        conditions.append("invite_attributes.user_agent = :ua")
        named["ua"] = user_agent
    if new_session is not None:
        sid, entry = new_session
        # A reader with nothing else due is now due when this session ends, so cleanup prunes it.
        sets += [
            "sessions.#sid = :session",
            "due_at = if_not_exists(due_at, :session_ends)",
            "due_bucket = if_not_exists(due_bucket, :session_bucket)",
        ]
        names["#sid"] = sid
        named |= {
            "session": entry.model_dump(),
            "session_ends": entry.expires_at,
            "session_bucket": expiry_bucket(entry.expires_at),
        }
    if extend_session is not None:
        session_hashes = extend_session.token_hashes
        sets += ["sessions.#sid.last_accessed_at = :now", "sessions.#sid.authenticated_at = :now"]
        conditions.append("sessions.#sid.expires_at > :now")
        names["#sid"] = extend_session.sid
        if extend_session.expires_at is not None:
            sets.append("sessions.#sid.expires_at = :session_expires")
            named["session_expires"] = extend_session.expires_at
        if extend_session.claims_json is not None:
            sets.append("sessions.#sid.custom_claims_json = :session_claims")
            named["session_claims"] = extend_session.claims_json
        if session_hashes:
            names_ = [f":session_hash{i}" for i in range(len(session_hashes))]
            conditions.append(f"sessions.#sid.h IN ({', '.join(names_)})")
            named |= {name[1:]: h for name, h in zip(names_, session_hashes, strict=True)}
    if new_session is None:
        return from_item(_consume(user_id, sets, conditions, named, names, _CODE_FIELDS))
    sid = new_session[0]
    # Ending sessions that are gone already changes nothing, so a stale `seen` is harmless; a reader past
    # the ceiling (an item from before the cap) is refused below and trimmed first.
    ending = seen.sessions_over_cap(now, adding=1)[:SESSIONS_CEILING] if seen else []
    ended = {f"#end{i}": old for i, old in enumerate(ending)}
    removes = [*_CODE_FIELDS, *(f"sessions.{name}" for name in ended)]
    conditions.append("(attribute_not_exists(sessions) OR size(sessions) < :ceiling)")
    named["ceiling"] = SESSIONS_CEILING
    for _ in range(_SESSION_ATTEMPTS):
        try:
            reader = from_item(_consume(user_id, sets, conditions, named, names | ended, removes))
        except ConditionFailed as failed:
            full = failed.item
            if full is None or len(full.sessions) < SESSIONS_CEILING:
                raise  # not for want of room: the caller classifies the refusal from the item
            remove_sessions(user_id, full.sessions_over_cap(now, adding=1), only_if_present=False)
            continue
        over = reader.sessions_over_cap(now, keep=sid)
        if over:
            remove_sessions(user_id, over, only_if_present=False)
        return reader.model_copy(update={"sessions": {k: v for k, v in reader.sessions.items() if k not in over}})
    raise ServiceUnavailable("Too many concurrent sign-ins for this reader; retry.", headers={"Retry-After": "1"})


def _consume(
    user_id: str, sets: list[str], conditions: list[str], named: dict, names: dict, removes: list[str]
) -> dict:
    request: dict[str, Any] = {
        "TableName": table(),
        "Key": user_key(user_id),
        "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": values(**named),
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if names:
        request["ExpressionAttributeNames"] = names
    return conditional_update(from_item, **request)
