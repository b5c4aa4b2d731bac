"""Authenticate: a magic link, or the one-time code emailed with it, spent in one conditional write with the
session it creates or extends, and why a refused one was refused. Knows neither HTTP nor boto3."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, store, tokens
from .credentials import project_credentials, token_keys
from .errors import (
    BadRequest,
    DeviceMismatch,
    MagicLinkNotFound,
    OtpCodeNotFound,
    PkceExpectedCodeVerifier,
    PkceMismatch,
    PkceUnexpectedCodeVerifier,
    ServiceError,
    SessionNotFound,
    UnableToAuthMagicLink,
)
from .models.fields import Attributes
from .models.items import MAX_CODE_TRIES, Reader, SessionEntry
from .models.requests import AuthenticateOptions, AuthenticateRequest
from .observability import logger, metrics
from .store.dynamo import ConditionFailed
from .store.links import SessionExtension


@dataclass(frozen=True)
class Authenticated:
    reader: Reader
    session: SessionEntry | None = None
    session_id: str = ""
    session_token: str = ""
    session_jwt: str = ""


class SessionFields(Protocol):
    """What an authenticate request says about the session and device (a link's and a code's alike)."""

    session_duration_minutes: int | None
    session_token: str | None
    session_jwt: str | None
    session_custom_claims: dict | None
    attributes: Attributes | None
    options: AuthenticateOptions | None


@dataclass(frozen=True)
class _SessionPlan:
    sid: str = ""
    session_token: str = ""
    new_session: tuple[str, SessionEntry] | None = None
    extend: SessionExtension | None = None


def _device(request: SessionFields) -> tuple[str | None, str | None]:
    """The IP address and user agent the link must have been issued for, where the request asks for a match."""
    options = request.options
    attributes = request.attributes
    ip = ua = None
    if options and options.ip_match_required:
        if not (attributes and attributes.ip_address):
            raise BadRequest("attributes.ip_address: required when options.ip_match_required is true.")
        ip = attributes.ip_address
    if options and options.user_agent_match_required:
        if not (attributes and attributes.user_agent):
            raise BadRequest("attributes.user_agent: required when options.user_agent_match_required is true.")
        ua = attributes.user_agent
    return ip, ua


def _refusal(old: Reader | None, request: AuthenticateRequest, link_hashes: list[str], now: int) -> ServiceError:
    """Why the conditional write did not apply, from the item as it was (nothing was spent)."""
    if old is None:
        return MagicLinkNotFound()
    if not old.link_usable(link_hashes, now):
        return UnableToAuthMagicLink()
    if old.link_code_challenge and not request.code_verifier:
        return PkceExpectedCodeVerifier()
    if request.code_verifier and not old.link_code_challenge:
        return PkceUnexpectedCodeVerifier()
    if request.code_verifier:
        return PkceMismatch() if old.link_code_challenge != tokens.s256(request.code_verifier) else SessionNotFound()
    if request.options and (request.options.ip_match_required or request.options.user_agent_match_required):
        return DeviceMismatch()
    return SessionNotFound()  # the session to extend was not live


def _extended_claims(user_id: str, sid: str, update: dict | None, now: int) -> str | None:
    """The claims of the session a link extends, after `update` (None: no update, nothing read). Reading the
    session first is what lets the write that spends the link set claims already checked, never fail after."""
    from . import sessions

    if update is None:
        return None
    reader = store.reader.get_reader(user_id)
    entry = reader.sessions.get(sid) if reader else None
    if entry is None or entry.expires_at <= now:
        raise SessionNotFound()
    return sessions.merge_claims(entry.custom_claims, update)


def authenticate(
    request: AuthenticateRequest, *, session_minutes: int | None = None, seen: Reader | None = None
) -> Authenticated:
    """Spend the link in one conditional write, with the session it creates or extends.

    Used, expired, superseded or revoked links all get one answer (401 unable_to_auth_magic_link).
    `session_minutes` is hosted mode's session length, when the request itself names none.
    `seen`, the reader as the caller has just read it, lets a new session end the oldest in that write.
    """
    now = clock.now()
    user_uuid = tokens.locate(request.token)
    if user_uuid is None:
        raise MagicLinkNotFound()
    ip, ua = _device(request)
    user_id = project_credentials().user_id(user_uuid)
    link_hashes = tokens.token_hashes(token_keys(), request.token)
    plan = _plan_session(request, user_uuid, user_id, now, request.session_duration_minutes or session_minutes)
    try:
        reader = store.links.consume_link(
            user_id,
            link_hashes,
            now=now,
            code_challenge=tokens.s256(request.code_verifier) if request.code_verifier else None,
            ip_address=ip,
            user_agent=ua,
            new_session=plan.new_session,
            extend_session=plan.extend,
            seen=seen,
        )
    except ConditionFailed as failed:
        raise _refused(user_id, _refusal(failed.item, request, link_hashes, now)) from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="Authentications", unit=MetricUnit.Count, value=1)
    logger.info("magic link authenticated", extra={"authentication_count": reader.authentication_count})
    return _answer(reader, plan, user_uuid, now)


def authenticate_code(
    user_id: str,
    code: str,
    request: SessionFields,
    *,
    session_minutes: int | None = None,
    issued_since: int | None = None,
    seen: Reader | None = None,
) -> Authenticated:
    """Sign in with the one-time code emailed beside the reader's link: one try is counted first (at most
    MAX_CODE_TRIES, however many guess at once), then one conditional write spends code and link together
    with the session, as authenticate does for the link. Wrong, expired, spent, superseded or out of tries:
    one answer (404 otp_code_not_found). `issued_since` accepts only a code whose link was issued since then
    (a public page's ticket); `session_minutes` is the session length when the request names none.
    """
    now = clock.now()
    typed = tokens.normal_code(code)
    user_uuid = _uuid_of(user_id)
    if typed is None or user_uuid is None:
        raise _refused(user_id, OtpCodeNotFound())
    ip, ua = _device(request)
    plan = _plan_session(
        request, user_uuid, user_id, now, request.session_duration_minutes or session_minutes, factor="otp"
    )
    if not store.links.reserve_code_try(user_id, now=now, issued_since=issued_since):
        raise _refused(user_id, OtpCodeNotFound())
    code_hashes = tokens.code_hashes(token_keys(), user_id, typed)
    try:
        reader = store.links.consume_link(
            user_id,
            [],
            now=now,
            ip_address=ip,
            user_agent=ua,
            new_session=plan.new_session,
            extend_session=plan.extend,
            seen=seen,
            code_hashes=code_hashes,
        )
    except ConditionFailed as failed:
        raise _refused(user_id, _code_refusal(failed.item, request, code_hashes, now)) from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="CodeAuthentications", unit=MetricUnit.Count, value=1)
    logger.info("one-time code authenticated", extra={"authentication_count": reader.authentication_count})
    return _answer(reader, plan, user_uuid, now)


def exchange_code(user_id: str, code: str, *, issued_since: int | None = None) -> tuple[Reader, str]:
    """A correct code for an app's link (one the app's backend authenticates): the code and the emailed link
    end, and a new single-use token takes the link's place, for the page to hand the app as Continue does.
    Tries are counted as authenticate_code counts them. Returns (reader, the new token)."""
    now = clock.now()
    typed = tokens.normal_code(code)
    user_uuid = _uuid_of(user_id)
    if (
        typed is None
        or user_uuid is None
        or not store.links.reserve_code_try(user_id, now=now, issued_since=issued_since)
    ):
        raise _refused(user_id, OtpCodeNotFound())
    token = tokens.new_token(user_uuid)
    keys = token_keys()
    try:
        reader = store.links.exchange_code(
            user_id, tokens.code_hashes(keys, user_id, typed), now=now, new_link_hash=tokens.token_hash(keys[0], token)
        )
    except ConditionFailed:
        raise _refused(user_id, OtpCodeNotFound()) from None
    metrics.add_metric(name="CodesExchanged", unit=MetricUnit.Count, value=1)
    logger.info("one-time code exchanged for the app's link")
    return reader, token


def _uuid_of(user_id: str) -> uuid.UUID | None:
    """The uuid a user id of this project ends with; None for anything else."""
    try:
        user_uuid = uuid.UUID(user_id[-36:])
    except ValueError:
        return None
    return user_uuid if project_credentials().user_id(user_uuid) == user_id else None


def _code_refusal(old: Reader | None, request: SessionFields, code_hashes: list[str], now: int) -> ServiceError:
    """Why the code's write did not apply, from the item as it was (its try is counted; nothing was spent)."""
    matched = old is not None and any(hmac.compare_digest(old.code_hash or "", h) for h in code_hashes)
    # This try was counted already (reserve_code_try), so the count may be at MAX_CODE_TRIES and still live
    live = old is not None and old.code_live(now) and old.code_tries <= MAX_CODE_TRIES
    if not (matched and live):
        return OtpCodeNotFound()
    if request.options and (request.options.ip_match_required or request.options.user_agent_match_required):
        return DeviceMismatch()
    return SessionNotFound()  # the session to extend was not live


def _refused(user_id: str, refusal: ServiceError) -> ServiceError:
    metrics.add_metric(name="AuthenticationsRefused", unit=MetricUnit.Count, value=1)
    logger.append_keys(user_id=user_id)
    logger.info("authentication refused", extra={"error_type": refusal.error_type})
    return refusal


def _plan_session(
    request: SessionFields,
    user_uuid: uuid.UUID,
    user_id: str,
    now: int,
    minutes: int | None,
    *,
    factor: str = "magic_link",
) -> _SessionPlan:
    """The session the write creates (minutes given) or extends (a session token or JWT given); none else.
    Checked before anything is written (custom claims, the session's owner)."""
    from . import sessions

    if request.session_token or request.session_jwt:
        ref = sessions.ref_of(request.session_token, request.session_jwt)
        if ref.user_uuid != user_uuid:
            raise SessionNotFound()
        extend = SessionExtension(
            ref.sid,
            token_hashes=sessions.session_hashes(request.session_token) if request.session_token else None,
            expires_at=now + minutes * 60 if minutes else None,
            claims_json=_extended_claims(user_id, ref.sid, request.session_custom_claims, now),
        )
        return _SessionPlan(ref.sid, request.session_token or "", extend=extend)
    if not minutes:
        return _SessionPlan()
    sid, session_token = sessions.new_session_token(user_uuid)
    attributes = request.attributes
    entry = SessionEntry(
        h=sessions.session_hash(session_token),
        started_at=now,
        last_accessed_at=now,
        expires_at=now + minutes * 60,
        authenticated_at=now,
        ip_address=(attributes.ip_address or "") if attributes else "",
        user_agent=(attributes.user_agent or "") if attributes else "",
        custom_claims_json=sessions.merge_claims({}, request.session_custom_claims),
        factor=factor,
    )
    return _SessionPlan(sid, session_token, new_session=(sid, entry))


def _answer(reader: Reader, plan: _SessionPlan, user_uuid: uuid.UUID, now: int) -> Authenticated:
    from . import sessions

    if not plan.sid:
        return Authenticated(reader)
    entry = reader.sessions[plan.sid]
    full_id = sessions.format_session_id(user_uuid, plan.sid)
    started = plan.new_session is not None
    metrics.add_metric(name="SessionsStarted" if started else "SessionsExtended", unit=MetricUnit.Count, value=1)
    return Authenticated(reader, entry, full_id, plan.session_token, _session_jwt(reader, entry, full_id, now))


def _session_jwt(reader: Reader, entry: SessionEntry, session_id: str, now: int) -> str:
    """The session's JWT, or "" when it cannot be signed now (KMS throttled or failing).

    The link is spent and the session written by then (one write, which is not undone): the answer still
    carries the session and its token, which let the reader in, and sessions/authenticate signs a JWT for
    that token once KMS answers again. Failing the request instead would lock the reader out.
    """
    from . import sessions

    try:
        return sessions.sign_jwt(reader, entry, session_id, now)
    except Exception:
        logger.exception("session JWT not signed; the answer carries the session without it")
        metrics.add_metric(name="SessionJwtsNotSigned", unit=MetricUnit.Count, value=1)
        return ""
