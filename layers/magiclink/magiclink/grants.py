"""Invite, authenticate, revoke: the grant and token rules. Knows neither HTTP nor boto3."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, links, mailer, store, tokens
from .credentials import project_credentials, token_key
from .errors import (
    EmailNotFound,
    GrantNotActive,
    InvalidTemplateId,
    InviteAlreadyAccepted,
    MagicLinkNotFound,
    ServiceUnavailable,
    TooManyRequests,
    UnableToAuthMagicLink,
    UnsupportedFeature,
)
from .models import AuthenticateRequest, HistoryEvent, InviteRequest, Reader, ReaderLinkRequest
from .observability import logger, metrics
from .settings import get_settings

DEFAULT_INVITE_TEMPLATE = "invite"
LOGIN_TEMPLATE = "login"
_CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class Invited:
    reader: Reader
    renewed: bool
    magic_link_url: str | None


def _reader_id(email: str) -> str:
    user_id = store.find_user_id(email)
    if user_id is None:
        raise EmailNotFound()
    return user_id


def _user_uuid(user_id: str) -> uuid.UUID:
    return uuid.UUID(user_id[-36:])


def _send(template_id: str, reader: Reader, locale: str | None, *, url: str, minutes: int, reusable: bool) -> None:
    rendered = mailer.render(
        template_id,
        locale or reader.locale,
        project=get_settings().project_name,
        name=" ".join(p for p in (reader.name.first_name, reader.name.last_name) if p),
        link=url,
        minutes=minutes,
        reusable=reusable,
    )
    mailer.send(reader.email, rendered)
    metrics.add_metric(name="EmailsSent", unit=MetricUnit.Count, value=1)


def _profile(request: InviteRequest) -> dict:
    """The user fields an invite sets, only those it was given (a re-invite keeps the rest)."""
    given = {
        "name": request.name.model_dump() if request.name else None,
        "locale": request.locale,
        "trusted_metadata": request.trusted_metadata,
        "untrusted_metadata": request.untrusted_metadata,
        "invite_attributes": request.attributes.model_dump(exclude_none=True) if request.attributes else None,
    }
    return {k: v for k, v in given.items() if v is not None}


def _issue(request: InviteRequest, target: str, now: int, by: str) -> tuple[Reader, str, bool]:
    """Write the invite: a new reader, or a new link on the existing one. Returns (reader, token, renewed).

    Races are settled by conditional writes: a lost claim on the email re-reads and reissues instead.
    """
    credentials = project_credentials()
    key = token_key()
    env = credentials.environment
    grant = {
        "role": request.role,
        "access_expires_at": (
            None if request.access_expiration_minutes is None else now + request.access_expiration_minutes * 60
        ),
    }
    terms = {
        "link_expires_at": now + request.invite_expiration_minutes * 60,
        "link_reusable": request.reusable,
        "link_url": target,
        "invited_by": by,
    }
    for _ in range(_CREATE_ATTEMPTS):
        user_id = store.find_user_id(request.email)
        if user_id is not None:
            token = tokens.new_token(_user_uuid(user_id))
            link = dict(terms, now=now, link_hash=tokens.token_hash(key, token), grant=grant, profile=_profile(request))
            try:
                return store.reissue_link(user_id, renew=False, **link), token, False
            except store.ConditionFailed as failed:
                if failed.item is not None:  # revoked or expired: renew the grant
                    return store.reissue_link(user_id, renew=True, event="renewed", **link), token, True
            # Otherwise the pointer outlived its reader (a revoked invite being cleaned up): start afresh.
        user_uuid = uuid.uuid4()
        token = tokens.new_token(user_uuid)
        reader = Reader.model_validate(
            {
                **terms,
                **grant,
                **_profile(request),
                "user_id": f"user-{env}-{user_uuid}",
                "email_id": f"email-{env}-{uuid.uuid4()}",
                "grant_id": f"grant-{env}-{uuid.uuid4()}",
                "email": request.email,
                "created_at": now,
                "invited_at": now,
                "link_hash": tokens.token_hash(key, token),
                "link_issued_at": now,
                "history": [HistoryEvent(at=now, event="invited", by=by)],
            }
        )
        try:
            store.create_reader(reader, replaces_user_id=user_id)
            return reader, token, False
        except store.ConditionFailed:
            continue  # a concurrent invite claimed the email first: go again and reissue on its reader
    raise ServiceUnavailable("Too many concurrent invites for this email; retry.", headers={"Retry-After": "1"})


def invite(request: InviteRequest, *, by: str) -> Invited:
    """Create or reuse the user, create or renew the grant, issue a new link (older ones stop working), send it."""
    now = clock.now()
    target = links.redirect_target(request.invite_magic_link_url)
    template_id = request.invite_template_id or DEFAULT_INVITE_TEMPLATE
    if not mailer.template_exists(template_id):
        raise InvalidTemplateId()

    reader, token, renewed = _issue(request, target, now, by)
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    url = links.with_token(target, token)
    if request.delivery == "email":
        _send(
            template_id,
            reader,
            request.locale,
            url=url,
            minutes=request.invite_expiration_minutes,
            reusable=request.reusable,
        )
    metrics.add_metric(name="Invites", unit=MetricUnit.Count, value=1)
    if renewed:
        metrics.add_metric(name="GrantsRenewed", unit=MetricUnit.Count, value=1)
    logger.info("invite issued", extra={"renewed": renewed, "delivery": request.delivery})
    return Invited(reader=reader, renewed=renewed, magic_link_url=url if request.delivery == "none" else None)


_UNSUPPORTED_AUTH_FIELDS = (
    "session_duration_minutes",
    "session_token",
    "session_jwt",
    "session_custom_claims",
    "code_verifier",
)


def authenticate(request: AuthenticateRequest) -> Reader:
    """Spend the link in one conditional write; used, expired, superseded or revoked all get one answer."""
    # Refused before the token is touched, so the link stays usable for a request without them.
    for field in _UNSUPPORTED_AUTH_FIELDS:
        if getattr(request, field) is not None:
            raise UnsupportedFeature(f"{field}: sessions and PKCE are not available on this deployment yet.")
    if request.options and (request.options.ip_match_required or request.options.user_agent_match_required):
        raise UnsupportedFeature("options: IP and user-agent matching are not available on this deployment yet.")

    user_uuid = tokens.locate(request.token)
    if user_uuid is None:
        raise MagicLinkNotFound()
    user_id = f"user-{project_credentials().environment}-{user_uuid}"
    try:
        reader = store.consume_link(user_id, tokens.token_hash(token_key(), request.token), now=clock.now())
    except store.ConditionFailed as failed:
        metrics.add_metric(name="AuthenticationsRefused", unit=MetricUnit.Count, value=1)
        if failed.item is None:
            raise MagicLinkNotFound() from None
        logger.append_keys(user_id=user_id)
        logger.info("magic link refused")
        raise UnableToAuthMagicLink() from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="Authentications", unit=MetricUnit.Count, value=1)
    logger.info("magic link authenticated", extra={"authentication_count": reader.authentication_count})
    return reader


def send_link(
    email: str,
    request: ReaderLinkRequest,
    *,
    by: str,
    cooldown: int | None = None,
) -> tuple[Reader, str]:
    """A new link for a reader whose grant is live; older links stop working. Returns (reader, url).

    `cooldown` (seconds) refuses it with 429 while the current link is younger than that.
    """
    now = clock.now()
    user_id = _reader_id(email)
    target = links.redirect_target(request.magic_link_url)
    token = tokens.new_token(_user_uuid(user_id))
    try:
        reader = store.reissue_link(
            user_id,
            renew=False,
            now=now,
            link_hash=tokens.token_hash(token_key(), token),
            link_expires_at=now + request.link_expiration_minutes * 60,
            link_reusable=request.reusable,
            link_url=target,
            invited_by=by,
            grant=None,
            profile={"locale": request.locale} if request.locale else {},
            not_since=None if cooldown is None else now - cooldown,
        )
    except store.ConditionFailed as failed:
        if failed.item is None:
            raise EmailNotFound() from None
        if failed.item.grant_status_at(now) in ("revoked", "expired"):
            raise GrantNotActive() from None
        retry = max(1, (failed.item.link_issued_at or now) + (cooldown or 0) - now)
        raise TooManyRequests(headers={"Retry-After": str(retry)}) from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    url = links.with_token(target, token)
    if request.delivery == "email":
        _send(
            LOGIN_TEMPLATE,
            reader,
            request.locale,
            url=url,
            minutes=request.link_expiration_minutes,
            reusable=request.reusable,
        )
    metrics.add_metric(name="LinksIssued", unit=MetricUnit.Count, value=1)
    logger.info("link issued", extra={"delivery": request.delivery})
    return reader, url


def deactivate_link(email: str, *, by: str) -> Reader:
    """The reader's links stop working; their access stays and they may ask for a new link."""
    try:
        reader = store.deactivate_link(_reader_id(email), now=clock.now(), by=by)
    except store.ConditionFailed:
        raise EmailNotFound() from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="LinksDeactivated", unit=MetricUnit.Count, value=1)
    logger.info("link deactivated")
    return reader


def _revoke(email: str, *, by: str, pending_only: bool) -> Reader:
    now = clock.now()
    user_id = _reader_id(email)
    delete_at = now + get_settings().revoked_retention_days * 86400
    try:
        reader = store.revoke(user_id, now=now, by=by, delete_at=delete_at, pending_only=pending_only)
    except store.ConditionFailed as failed:
        if failed.item is None:
            raise EmailNotFound() from None
        if failed.item.grant_status == "revoked":
            return failed.item  # revoking again changes nothing, and keeps who revoked first
        raise InviteAlreadyAccepted() from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="AccessRevoked", unit=MetricUnit.Count, value=1)
    logger.info("access revoked", extra={"pending_only": pending_only})
    return reader


def revoke_invite(email: str, *, by: str) -> Reader:
    """End a pending invite; its link stops working at once. Revoking a revoked invite again is fine."""
    return _revoke(email, by=by, pending_only=True)


def revoke_access(email: str, *, by: str) -> Reader:
    """End a reader's access, whatever its state: links stop working and requests are refused."""
    return _revoke(email, by=by, pending_only=False)
