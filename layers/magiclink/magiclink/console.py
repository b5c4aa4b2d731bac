"""The admin console's session: an HttpOnly, SameSite=Strict cookie holding a session token of a reader
whose role is `admin`; every state-changing request also carries a CSRF token bound to that session."""

from __future__ import annotations

from dataclasses import dataclass

from . import clock, grants, keyring, limits, sessions, store
from .errors import SessionNotFound
from .models.items import Reader
from .models.requests import AuthenticateRequest, ReaderLinkRequest
from .settings import get_settings

COOKIE = "ml_console"
SESSION_MINUTES = 8 * 60
ADMIN_ROLE = "admin"
SIGN_IN_COOLDOWN = 60


class NotAdmin(Exception):
    """Signed in, but not as an admin (or the admin's access ended)."""


@dataclass(frozen=True)
class Admin:
    reader: Reader
    session_id: str
    csrf: str


def csrf_token(session_id: str) -> str:
    return keyring.signature("console-csrf", session_id)


def cookie(value: str, max_age: int):
    """The session cookie: HttpOnly, SameSite=Strict, Secure wherever the service is on HTTPS
    (everywhere but the local stack)."""
    from aws_lambda_powertools.shared.cookies import Cookie, SameSite

    secure = get_settings().public_base_url.startswith("https://")
    return Cookie(
        COOKIE, value, path="/console", secure=secure, http_only=True, max_age=max_age, same_site=SameSite.STRICT_MODE
    )


def admin_of(session_token: str | None) -> Admin:
    """The signed-in admin; SessionNotFound without a live session, NotAdmin for anyone else."""
    ref = sessions.locate_token(session_token or "")
    if ref is None:
        raise SessionNotFound()
    reader, _ = sessions.current(ref, session_token, clock.now())
    if reader.role != ADMIN_ROLE:
        raise NotAdmin()
    session_id = sessions.format_session_id(ref.user_uuid, ref.sid)
    return Admin(reader, session_id, csrf_token(session_id))


def csrf_ok(admin: Admin, presented: str | None) -> bool:
    return keyring.signature_valid("console-csrf", admin.session_id, presented)


def request_sign_in(email: str, source_ip: str) -> None:
    """Email a sign-in link to an admin; anyone else gets nothing (the page says the same either way).

    Every attempt counts against the public rate limits, admin or not, as a public request does
    (TooManyRequests): nobody is signed in yet, so it may not spend the admins' own allowance.
    """
    limits.take_public(clock.now(), email=email, ip=source_ip)
    user_id = store.reader.find_user_id(email)
    reader = store.reader.get_reader(user_id) if user_id else None
    if reader is None or reader.role != ADMIN_ROLE or reader.grant_status_at(clock.now()) not in ("pending", "active"):
        return
    from .links import console_callback_url

    link = ReaderLinkRequest(magic_link_url=console_callback_url(), link_expiration_minutes=15)
    grants.send_link(email, link, by="console", cooldown=SIGN_IN_COOLDOWN, user_id=user_id, counted=True)


def sign_in(token: str) -> tuple[str, bool]:
    """Spend a console sign-in link: (session token, is_admin). A non-admin's session is ended at once."""
    done = grants.authenticate(AuthenticateRequest(token=token), session_minutes=SESSION_MINUTES)
    if done.reader.role != ADMIN_ROLE:
        sessions.revoke_session(done.session_id, None, None)
        return "", False
    return done.session_token, True


def sign_out(session_token: str | None) -> None:
    ref = sessions.locate_token(session_token or "")
    if ref is not None:
        store.reader.remove_sessions(sessions.project_credentials().user_id(ref.user_uuid), [ref.sid])
