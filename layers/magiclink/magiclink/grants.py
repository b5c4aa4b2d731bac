"""Invite, links, revoke: the grant rules (authenticating a link is authentication.py). Knows neither HTTP nor boto3."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from aws_lambda_powertools.metrics import MetricUnit

# delivery, limits, mailer and sessions are imported where they are used, so that a function loads only what its
# routes run at a cold start: revoke sends no mail and makes no session, authenticate sends no mail.
from . import clock, links, store, tokens
from .codes import Code
from .credentials import project_credentials, token_key
from .errors import (
    BadRequest,
    DuplicateEmail,
    EmailBounced,
    EmailNotFound,
    GrantNotActive,
    InvalidTemplateId,
    ServiceUnavailable,
    SignupNotAllowed,
    TooManyRequests,
)
from .models.items import HistoryEvent, Reader
from .models.requests import (
    InviteRequest,
    LoginOrCreateRequest,
    ReaderLinkRequest,
    SendRequest,
    UserCreateRequest,
)
from .observability import logger, metrics
from .settings import get_settings
from .store.dynamo import ConditionFailed
from .store.links import LinkIssue

DEFAULT_INVITE_TEMPLATE = "invite"
LOGIN_TEMPLATE = "login"
DEFAULT_LINK_MINUTES = 60
_CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class Invited:
    reader: Reader
    renewed: bool
    magic_link_url: str | None
    created: bool = False  # a new user (not a re-invite)


def _reader_id(email: str) -> str:
    user_id = store.reader.find_user_id(email)
    if user_id is None:
        raise EmailNotFound()
    return user_id


def _user_uuid(user_id: str) -> uuid.UUID:
    return uuid.UUID(user_id[-36:])


def _profile(request: InviteRequest) -> dict:
    """The user fields an invite sets, only those it was given (a re-invite keeps the rest)."""
    given = {
        "name": request.name.model_dump() if request.name else None,
        "locale": request.locale,
        "trusted_metadata": request.trusted_metadata,
        "untrusted_metadata": request.untrusted_metadata,
        "invite_attributes": request.attributes.model_dump(exclude_none=True) if request.attributes else None,
        "inviter_name": request.inviter_name,
    }
    return {k: v for k, v in given.items() if v is not None}


def _issue(
    request: InviteRequest, target: str, now: int, by: str, code_minutes: int | None = None
) -> tuple[Reader, str, Code, bool, bool]:
    """Write the invite, counted against the rate limits: a new reader, or a new link on the existing one.
    Returns (reader, token, code, renewed, created).

    A new email costs one transaction (claim, reader and counters together); an email that is taken
    hands back its user, which gets the new link instead. Races are settled by conditional writes.
    """
    from . import limits

    key = token_key()
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
    options = {"link_code_challenge": request.code_challenge, "link_session_minutes": request.session_duration_minutes}
    counted = False
    user_id: str | None = None  # the user the email belongs to, once known
    stale: str | None = None  # a user whose pointer outlived its reader item
    for _ in range(_CREATE_ATTEMPTS):
        if user_id is None:
            reader, token, code = _new_reader(request, {**terms, **grant, **options}, key, now, by, code_minutes)
            try:
                counters = [] if counted else limits.counters(now, email=request.email)
                store.reader.create_reader(reader, now=now, replaces_user_id=stale, counters=counters)
                return reader, token, code, False, True
            except store.counters.LimitReached as reached:
                raise limits.refusal(reached, now) from None
            except store.reader.EmailTaken as taken:
                user_id = taken.user_id  # None: the claim failed for a reason it did not say; go again
                continue
        if not counted:
            limits.take(now, email=request.email)
            counted = True
        token = tokens.new_token(_user_uuid(user_id))
        code = Code.beside(
            user_id,
            key,
            now=now,
            link_expires_at=terms["link_expires_at"],
            delivery=request.delivery,
            minutes=code_minutes,
        )
        link = LinkIssue(
            **terms,
            now=now,
            link_hash=tokens.token_hash(key, token),
            code_hash=code.code_hash,
            code_expires_at=code.code_expires_at,
            grant=grant,
            profile=_profile(request),
            link_options=options,
            force=request.force,
            delivery=request.delivery,
        )
        try:
            return store.links.reissue_link(user_id, link), token, code, False, False
        except ConditionFailed as failed:
            if failed.item is not None and failed.item.email_status == "bounced" and not request.force:
                raise EmailBounced() from None
            if failed.item is not None:  # revoked or expired: renew the grant
                renewal = replace(link, renew=True, event="renewed")
                return store.links.reissue_link(user_id, renewal), token, code, True, False
        # The pointer outlived its reader (a revoked invite being cleaned up): claim the email afresh.
        stale, user_id = user_id, None
    raise ServiceUnavailable("Too many concurrent invites for this email; retry.", headers={"Retry-After": "1"})


def _new_ids() -> tuple[uuid.UUID, dict[str, str]]:
    """A new user's uuid, and the ids of the user, their email and their grant."""
    credentials = project_credentials()
    env = credentials.environment
    user_uuid = uuid.uuid4()
    ids = {
        "user_id": credentials.user_id(user_uuid),
        "email_id": f"email-{env}-{uuid.uuid4()}",
        "grant_id": f"grant-{env}-{uuid.uuid4()}",
    }
    return user_uuid, ids


def _new_reader(
    request: InviteRequest, fields: dict, key: bytes, now: int, by: str, code_minutes: int | None = None
) -> tuple[Reader, str, Code]:
    """A new user with its grant and first link (`fields`: the link's terms, grant and options); its token
    and code."""
    user_uuid, ids = _new_ids()
    token = tokens.new_token(user_uuid)
    code = Code.beside(
        ids["user_id"],
        key,
        now=now,
        link_expires_at=fields["link_expires_at"],
        delivery=request.delivery,
        minutes=code_minutes,
    )
    reader = Reader.model_validate(
        {
            **fields,
            "code_hash": code.code_hash,
            "code_expires_at": code.code_expires_at,
            **_profile(request),
            **ids,
            "email": request.email,
            "created_at": now,
            "invited_at": now,
            "link_hash": tokens.token_hash(key, token),
            "link_issued_at": now,
            "link_delivery": "sending" if request.delivery == "email" else "none",
            "history": [HistoryEvent(at=now, event="invited", by=by)],
        }
    )
    return reader, token, code


def invite(request: InviteRequest, *, by: str, code_minutes: int | None = None) -> Invited:
    """Create or reuse the user, create or renew the grant, issue a new link (older ones stop working), send it
    with its one-time code (`code_minutes`: the code's lifetime, when shorter than the deployment's cap)."""
    from . import delivery, mailer

    now = clock.now()
    target = links.redirect_target(request.invite_magic_link_url, field="invite_magic_link_url")
    template_id = request.invite_template_id or DEFAULT_INVITE_TEMPLATE
    if not mailer.template_exists(template_id):
        raise InvalidTemplateId()
    if request.code_challenge and request.session_duration_minutes:
        raise BadRequest(
            "code_challenge: a PKCE link is authenticated by the app that holds the verifier,"
            " so it cannot also use hosted mode (session_duration_minutes)."
        )

    reader, token, code, renewed, created = _issue(request, target, now, by, code_minutes)
    url = delivery.deliver(
        reader,
        token,
        request.delivery,
        template_id,
        request.locale,
        request.invite_expiration_minutes,
        request.reusable,
        code=code,
    )
    metrics.add_metric(name="Invites", unit=MetricUnit.Count, value=1)
    if renewed:
        metrics.add_metric(name="GrantsRenewed", unit=MetricUnit.Count, value=1)
    logger.info("invite issued", extra={"renewed": renewed, "delivery": request.delivery})
    return Invited(
        reader=reader, renewed=renewed, magic_link_url=url if request.delivery == "none" else None, created=created
    )


def create_user(request: UserCreateRequest, *, by: str) -> Reader:
    """Stytch's POST /v1/users: a pending user and grant with no link, and nothing sent (send or invite gives
    them one). An email that is someone's already is 400 duplicate_email."""
    from . import users

    now = clock.now()
    given = {f: getattr(request, f) for f in users.METADATA_FIELDS}
    metadata = {f: users.checked_metadata(f, v) for f, v in given.items() if v is not None}
    reader = Reader.model_validate(
        {
            **_new_ids()[1],
            **metadata,
            "email": request.email,
            "name": request.name.given() if request.name else {},
            "role": request.roles[0] if request.roles else "reader",
            "created_at": now,
            "invited_at": now,
            "invited_by": by,
            "history": [HistoryEvent(at=now, event="created", by=by)],
        }
    )
    try:
        store.reader.create_reader(reader, now=now)
    except store.reader.EmailTaken as taken:
        if taken.user_id is None or store.reader.get_reader(taken.user_id) is not None:
            raise DuplicateEmail() from None
        try:  # the pointer outlived its reader (a revoked invite half removed by TTL): claim the email afresh
            store.reader.create_reader(reader, now=now, replaces_user_id=taken.user_id)
        except store.reader.EmailTaken:
            raise DuplicateEmail() from None
    logger.append_keys(user_id=reader.user_id, grant_id=reader.grant_id)
    metrics.add_metric(name="UsersCreated", unit=MetricUnit.Count, value=1)
    logger.info("user created")
    return reader


def login_or_create(request: LoginOrCreateRequest, *, by: str, code_minutes: int | None = None) -> tuple[Reader, bool]:
    """A login link by email for a known user (as send); an unknown email is invited as a pending user with the
    default role when the deployment's SignupPolicy is open, and refused (403 signup_not_allowed, nothing
    written or sent) when it is invite_only. Returns (reader, whether the user was created).

    Every path counts against the rate limits once, an unknown email too (as send counts it).
    """
    from . import limits

    user_id = store.reader.find_user_id(request.email)
    if user_id is not None:
        link = ReaderLinkRequest(
            magic_link_url=request.login_magic_link_url,
            link_expiration_minutes=request.login_expiration_minutes or DEFAULT_LINK_MINUTES,
            locale=request.locale,
        )
        template_id = request.login_template_id or LOGIN_TEMPLATE
        reader, _ = send_link(
            request.email,
            link,
            by=by,
            template_id=template_id,
            code_challenge=request.code_challenge,
            user_id=user_id,
            url_field="login_magic_link_url",
            code_minutes=code_minutes,
        )
        return reader, False
    if get_settings().signup_policy == "invite_only":
        limits.take(clock.now(), email=request.email)
        raise SignupNotAllowed()
    signup = InviteRequest(
        email=request.email,
        invite_magic_link_url=request.signup_magic_link_url,
        invite_expiration_minutes=request.signup_expiration_minutes or DEFAULT_LINK_MINUTES,
        invite_template_id=request.signup_template_id,
        locale=request.locale,
        attributes=request.attributes,
        code_challenge=request.code_challenge,
    )
    invited = invite(signup, by=by, code_minutes=code_minutes)
    return invited.reader, invited.created


def send_link(
    email: str,
    request: ReaderLinkRequest,
    *,
    by: str,
    cooldown: int | None = None,
    template_id: str = LOGIN_TEMPLATE,
    code_challenge: str | None = None,
    user_id: str | None = None,
    counted: bool = False,
    url_field: str = "magic_link_url",
    code_minutes: int | None = None,
) -> tuple[Reader, str]:
    """A new link for a reader whose grant is live; older links stop working. Returns (reader, url).

    `cooldown` (seconds) refuses it with 429 while the current link is younger than that.
    `user_id`, when the caller has already looked the email up, spares reading its pointer again.
    It counts against the rate limits first (an unknown email too), unless the caller has (`counted`).
    """
    from . import delivery, limits, mailer

    now = clock.now()
    if not mailer.template_exists(template_id):
        raise InvalidTemplateId()
    target = links.redirect_target(request.magic_link_url, field=url_field)
    if not counted:
        limits.take(now, email=email)
    user_id = user_id or _reader_id(email)
    reader, token, code = _relink(
        user_id,
        request,
        target,
        by=by,
        now=now,
        cooldown=cooldown,
        code_challenge=code_challenge,
        code_minutes=code_minutes,
    )
    url = delivery.deliver(
        reader,
        token,
        request.delivery,
        template_id,
        request.locale,
        request.link_expiration_minutes,
        request.reusable,
        code=code,
    )
    metrics.add_metric(name="LinksIssued", unit=MetricUnit.Count, value=1)
    logger.info("link issued", extra={"delivery": request.delivery})
    return reader, url


def embeddable_link(user_id: str, *, minutes: int, by: str) -> tuple[Reader, str]:
    """Stytch's embeddable magic link: a token for the app to deliver itself, nothing emailed. It becomes the
    reader's one link (an older one stops working) and authenticates once. Returns (reader, token)."""
    from . import limits, users

    now = clock.now()
    email = users.reader_of(user_id).email
    request = ReaderLinkRequest(delivery="none", link_expiration_minutes=minutes)
    target = links.redirect_target(request.magic_link_url)
    limits.take(now, email=email)
    reader, token, _ = _relink(user_id, request, target, by=by, now=now)
    metrics.add_metric(name="LinksIssued", unit=MetricUnit.Count, value=1)
    logger.info("link issued", extra={"delivery": "embeddable"})
    return reader, token


def _relink(
    user_id: str,
    request: ReaderLinkRequest,
    target: str,
    *,
    by: str,
    now: int,
    cooldown: int | None = None,
    code_challenge: str | None = None,
    code_minutes: int | None = None,
) -> tuple[Reader, str, Code]:
    """Write a new link to `target` on a reader whose grant is live (older links stop working), with its code
    when it is emailed; (reader, token, code)."""
    token = tokens.new_token(_user_uuid(user_id))
    key = token_key()
    expires_at = now + request.link_expiration_minutes * 60
    code = Code.beside(
        user_id, key, now=now, link_expires_at=expires_at, delivery=request.delivery, minutes=code_minutes
    )
    try:
        reader = store.links.reissue_link(
            user_id,
            LinkIssue(
                now=now,
                link_hash=tokens.token_hash(key, token),
                link_expires_at=expires_at,
                code_hash=code.code_hash,
                code_expires_at=code.code_expires_at,
                link_reusable=request.reusable,
                link_url=target,
                invited_by=by,
                grant=None,
                profile={"locale": request.locale} if request.locale else {},
                not_since=None if cooldown is None else now - cooldown,
                link_options={"link_code_challenge": code_challenge},  # a challenge belongs to one app flow
                force=request.force,
                delivery=request.delivery,
            ),
        )
    except ConditionFailed as failed:
        if failed.item is None:
            raise EmailNotFound() from None
        if failed.item.grant_status_at(now) in ("revoked", "expired"):
            raise GrantNotActive() from None
        if failed.item.email_status == "bounced" and not request.force:
            raise EmailBounced() from None
        retry = max(1, (failed.item.link_issued_at or now) + (cooldown or 0) - now)
        raise TooManyRequests(headers={"Retry-After": str(retry)}) from None
    return reader, token, code


def send(request: SendRequest, *, by: str, code_minutes: int | None = None) -> Reader:
    """Stytch's send: a login link for a user with live access (signup_* are accepted for the clients that
    always send them; a pending user gets the login link too).

    `user_id`, `session_token` or `session_jwt`, where given, must name the email's own user (Stytch would
    add the email to that user; here a user has one email): DuplicateEmail otherwise.
    """
    from . import sessions

    link = ReaderLinkRequest(
        magic_link_url=request.login_magic_link_url,
        link_expiration_minutes=request.login_expiration_minutes,
        locale=request.locale,
    )
    user_id = None
    if request.user_id or request.session_token or request.session_jwt:
        user_id = _reader_id(request.email)
        if request.user_id and request.user_id != user_id:
            raise DuplicateEmail()
        if request.session_token or request.session_jwt:
            ref = sessions.ref_of(request.session_token, request.session_jwt)
            if project_credentials().user_id(ref.user_uuid) != user_id:
                raise DuplicateEmail()
            sessions.current(ref, request.session_token, clock.now())  # the session must be live
    reader, _ = send_link(
        request.email,
        link,
        by=by,
        template_id=request.login_template_id or LOGIN_TEMPLATE,
        code_challenge=request.code_challenge,
        user_id=user_id,
        url_field="login_magic_link_url",
        code_minutes=code_minutes,
    )
    return reader
