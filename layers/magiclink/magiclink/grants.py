"""Invite, authenticate, revoke: the grant and token rules. Knows neither HTTP nor boto3."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from . import links, mailer, store, tokens
from .credentials import project_credentials, token_key
from .errors import (
    EmailNotFound,
    InvalidTemplateId,
    InviteAlreadyAccepted,
    MagicLinkNotFound,
    ServiceUnavailable,
    UnableToAuthMagicLink,
    UnsupportedFeature,
)
from .models import AuthenticateRequest, InviteRequest, Reader
from .observability import logger, metrics
from .settings import get_settings

DEFAULT_INVITE_TEMPLATE = "invite"
_CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class Invited:
    reader: Reader
    renewed: bool
    magic_link_url: str | None


def _now() -> int:
    return int(time.time())


def _user_uuid(user_id: str) -> uuid.UUID:
    return uuid.UUID(user_id[-36:])


def _duration(minutes: int) -> str:
    """'2 hours', '1 day and 3 hours', '45 minutes': the link lifetime as the email states it."""
    parts = []
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    for value, unit in ((days, "day"), (hours, "hour"), (mins, "minute")):
        if value:
            parts.append(f"{value} {unit}{'s' if value != 1 else ''}")
    return " and ".join(parts)


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


def _issue(request: InviteRequest, target: str, now: int) -> tuple[Reader, str, bool]:
    """Write the invite: a new reader, or a new link on the existing one. Returns (reader, token, renewed).

    Races are settled by conditional writes: a lost claim on the email re-reads and reissues instead.
    """
    credentials = project_credentials()
    key = token_key()
    env = credentials.environment
    terms = {
        "link_expires_at": now + request.invite_expiration_minutes * 60,
        "link_reusable": request.reusable,
        "link_url": target,
        "invited_by": credentials.project_id,
        "role": request.role,
        "access_expires_at": (
            None if request.access_expiration_minutes is None else now + request.access_expiration_minutes * 60
        ),
    }
    for _ in range(_CREATE_ATTEMPTS):
        user_id = store.find_user_id(request.email)
        if user_id is not None:
            token = tokens.new_token(_user_uuid(user_id))
            link = dict(terms, now=now, link_hash=tokens.token_hash(key, token), profile=_profile(request))
            try:
                return store.reissue_link(user_id, renew=False, **link), token, False
            except store.ConditionFailed as failed:
                if failed.item is not None:  # revoked or expired: renew the grant
                    return store.reissue_link(user_id, renew=True, **link), token, True
            # Otherwise the pointer outlived its reader (a revoked invite being cleaned up): start afresh.
        user_uuid = uuid.uuid4()
        token = tokens.new_token(user_uuid)
        reader = Reader.model_validate(
            {
                **terms,
                **_profile(request),
                "user_id": f"user-{env}-{user_uuid}",
                "email_id": f"email-{env}-{uuid.uuid4()}",
                "grant_id": f"grant-{env}-{uuid.uuid4()}",
                "email": request.email,
                "created_at": now,
                "invited_at": now,
                "link_hash": tokens.token_hash(key, token),
                "link_issued_at": now,
            }
        )
        try:
            store.create_reader(reader, replaces_user_id=user_id)
            return reader, token, False
        except store.ConditionFailed:
            continue  # a concurrent invite claimed the email first: go again and reissue on its reader
    raise ServiceUnavailable("Too many concurrent invites for this email; retry.", headers={"Retry-After": "1"})


def invite(request: InviteRequest) -> Invited:
    """Create or reuse the user, create or renew the grant, issue a new link (older ones stop working), send it."""
    now = _now()
    target = links.redirect_target(request.invite_magic_link_url)
    template_id = request.invite_template_id or DEFAULT_INVITE_TEMPLATE
    if not mailer.template_exists(template_id):
        raise InvalidTemplateId()

    reader, token, renewed = _issue(request, target, now)
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    url = links.with_token(target, token)
    if request.delivery == "email":
        rendered = mailer.render(
            template_id,
            request.locale or reader.locale,
            project=get_settings().project_name,
            name=" ".join(p for p in (reader.name.first_name, reader.name.last_name) if p),
            link=url,
            expires_in=_duration(request.invite_expiration_minutes),
            reusable=request.reusable,
        )
        mailer.send(request.email, rendered)
        metrics.add_metric(name="InviteEmailsSent", unit=MetricUnit.Count, value=1)
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
        reader = store.consume_link(user_id, tokens.token_hash(token_key(), request.token), now=_now())
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


def revoke_invite(email: str) -> None:
    """End a pending invite; its link stops working at once. Revoking a revoked invite again is fine."""
    user_id = store.find_user_id(email)
    if user_id is None:
        raise EmailNotFound()
    now = _now()
    delete_at = now + get_settings().revoked_retention_days * 86400
    try:
        store.revoke_invite(user_id, now=now, by=project_credentials().project_id, delete_at=delete_at)
    except store.ConditionFailed as failed:
        if failed.item is None:
            raise EmailNotFound() from None
        raise InviteAlreadyAccepted() from None
    logger.append_keys(user_id=user_id)
    metrics.add_metric(name="InvitesRevoked", unit=MetricUnit.Count, value=1)
    logger.info("invite revoked")


def cleanup(now: int | None = None) -> dict[str, int]:
    """Delete revoked readers whose retention has passed, found through the expiry index (no scan).

    Looks back `cleanup_lookback_days` day buckets; anything older is left to DynamoDB's TTL.
    Idempotent: an interrupted run leaves the rest in the index for the next one.
    """
    now = _now() if now is None else now
    lookback = get_settings().cleanup_lookback_days
    today = datetime.fromtimestamp(now, UTC)
    found = deleted = 0
    for days_ago in range(lookback, -1, -1):
        bucket = store.expiry_bucket(int((today - timedelta(days=days_ago)).timestamp()))
        for user_id, email in store.expired_readers(bucket, now=now):
            found += 1
            deleted += store.delete_reader(user_id, email, now=now)
    metrics.add_metric(name="CleanupDeleted", unit=MetricUnit.Count, value=deleted)
    logger.info("cleanup finished", extra={"found": found, "deleted": deleted, "buckets": lookback + 1})
    return {"found": found, "deleted": deleted}
