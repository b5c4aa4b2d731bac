"""Ending access: a reader's links deactivated, a pending invite revoked, a reader's access revoked (their
links and sessions stop at once). Knows neither HTTP nor boto3."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from . import clock, store
from .errors import EmailNotFound, InviteAlreadyAccepted
from .models.items import Reader
from .observability import logger, metrics
from .settings import get_settings
from .store.dynamo import ConditionFailed


def _reader_id(email: str) -> str:
    user_id = store.reader.find_user_id(email)
    if user_id is None:
        raise EmailNotFound()
    return user_id


def deactivate_link(email: str, *, by: str) -> Reader:
    """The reader's links stop working; their access stays and they may ask for a new link."""
    try:
        reader = store.reader.deactivate_link(_reader_id(email), now=clock.now(), by=by)
    except ConditionFailed:
        raise EmailNotFound() from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="LinksDeactivated", unit=MetricUnit.Count, value=1)
    logger.info("link deactivated")
    return reader


def _revoke(email: str, *, by: str, pending_only: bool) -> tuple[Reader, bool]:
    """Revoke; returns the reader and whether this call revoked it (False: it already was)."""
    now = clock.now()
    user_id = _reader_id(email)
    delete_at = now + get_settings().revoked_retention_days * 86400
    try:
        reader = store.reader.revoke(user_id, now=now, by=by, delete_at=delete_at, pending_only=pending_only)
    except ConditionFailed as failed:
        if failed.item is None:
            raise EmailNotFound() from None
        if failed.item.grant_status == "revoked":
            return failed.item, False  # revoking again changes nothing, and keeps who revoked first
        raise InviteAlreadyAccepted() from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="AccessRevoked", unit=MetricUnit.Count, value=1)
    logger.info("access revoked", extra={"pending_only": pending_only})
    return reader, True


def revoke_invite(email: str, *, by: str) -> Reader:
    """End a pending invite; its link stops working at once. Revoking a revoked invite again is fine."""
    return _revoke(email, by=by, pending_only=True)[0]


def revoke_access(email: str, *, by: str) -> Reader:
    """End a reader's access, whatever its state: links stop working and requests are refused.

    Where the deployment asks for it, the reader is told, once (not again when revoked twice).
    """
    from . import mailer

    reader, changed = _revoke(email, by=by, pending_only=False)
    if changed and get_settings().notify_on_revoke and reader.email_status != "bounced":
        rendered = mailer.render(
            "revoked",
            reader.locale,
            project=get_settings().project_name,
            name=" ".join(p for p in (reader.name.first_name, reader.name.last_name) if p),
        )
        mailer.send(reader.email, rendered)
    return reader


def reader_exists(email: str) -> bool:
    """Whether the email belongs to a reader already (whatever the state of their grant)."""
    return store.reader.find_user_id(email) is not None
