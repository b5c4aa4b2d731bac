"""Authenticate: a magic link spent in one conditional write, with the session it creates or extends, and
why a refused one was refused. Knows neither HTTP nor boto3."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, store, tokens
from .credentials import project_credentials, token_keys
from .errors import (
    BadRequest,
    DeviceMismatch,
    MagicLinkNotFound,
    PkceExpectedCodeVerifier,
    PkceMismatch,
    PkceUnexpectedCodeVerifier,
    ServiceError,
    SessionNotFound,
    UnableToAuthMagicLink,
)
from .models.items import Reader, SessionEntry
from .models.requests import AuthenticateRequest
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


def _device(request: AuthenticateRequest) -> tuple[str | None, str | None]:
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
    from . import sessions

    now = clock.now()
    user_uuid = tokens.locate(request.token)
    if user_uuid is None:
        raise MagicLinkNotFound()
    ip, ua = _device(request)
    user_id = project_credentials().user_id(user_uuid)
    link_hashes = tokens.token_hashes(token_keys(), request.token)
    minutes = request.session_duration_minutes or session_minutes

    new_session = extend = None
    sid = session_token = ""
    if request.session_token or request.session_jwt:
        ref = sessions.ref_of(request.session_token, request.session_jwt)
        if ref.user_uuid != user_uuid:
            raise SessionNotFound()
        sid, session_token = ref.sid, request.session_token or ""
        extend = SessionExtension(
            sid,
            token_hashes=sessions.session_hashes(request.session_token) if request.session_token else None,
            expires_at=now + minutes * 60 if minutes else None,
            claims_json=_extended_claims(user_id, sid, request.session_custom_claims, now),
        )
    elif minutes:
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
        )
        new_session = (sid, entry)
    try:
        reader = store.links.consume_link(
            user_id,
            link_hashes,
            now=now,
            code_challenge=tokens.s256(request.code_verifier) if request.code_verifier else None,
            ip_address=ip,
            user_agent=ua,
            new_session=new_session,
            extend_session=extend,
            seen=seen,
        )
    except ConditionFailed as failed:
        metrics.add_metric(name="AuthenticationsRefused", unit=MetricUnit.Count, value=1)
        logger.append_keys(user_id=user_id)
        refusal = _refusal(failed.item, request, link_hashes, now)
        logger.info("magic link refused", extra={"error_type": refusal.error_type})
        raise refusal from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="Authentications", unit=MetricUnit.Count, value=1)
    logger.info("magic link authenticated", extra={"authentication_count": reader.authentication_count})
    if not sid:
        return Authenticated(reader)
    entry = reader.sessions[sid]
    full_id = sessions.format_session_id(user_uuid, sid)
    metrics.add_metric(name="SessionsStarted" if new_session else "SessionsExtended", unit=MetricUnit.Count, value=1)
    return Authenticated(reader, entry, full_id, session_token, _session_jwt(reader, entry, full_id, now))


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
