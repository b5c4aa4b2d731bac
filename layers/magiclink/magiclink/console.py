"""The admin console's session: an HttpOnly, SameSite=Strict cookie holding a session token of a reader
whose role is `admin`; every state-changing request also carries a CSRF token bound to that session.
Before a session, the sign-in form carries a token bound to a cookie of its own (a signed double submit),
and its answer takes the same time whoever the address belongs to."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from dataclasses import dataclass

from . import authentication, clock, codes, grants, keyring, limits, sessions, store
from .errors import SessionNotFound, TooManyRequests
from .models.items import Reader
from .models.requests import AuthenticateRequest, InviteRequest, ReaderLinkRequest
from .settings import get_settings

COOKIE = "ml_console"
FORM_COOKIE = "ml_console_form"
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
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


def cookie(value: str, max_age: int | None, name: str = COOKIE):
    """A console cookie (the session's by default): HttpOnly, SameSite=Strict, Secure wherever the service
    is on HTTPS (everywhere but the local stack); without max_age, it lasts as long as the browser's session."""
    from aws_lambda_powertools.shared.cookies import Cookie, SameSite

    secure = get_settings().public_base_url.startswith("https://")
    return Cookie(
        name, value, path="/console", secure=secure, http_only=True, max_age=max_age, same_site=SameSite.STRICT_MODE
    )


def sign_in_form(nonce: str | None) -> tuple[str, str]:
    """(the form cookie's nonce, the form's token): the browser's nonce kept if it has one, so forms open
    in two tabs both work; the token is the nonce signed, so another site can neither read nor make one."""
    if not (nonce and _NONCE.fullmatch(nonce)):
        nonce = secrets.token_urlsafe(32)
    return nonce, keyring.signature("console-sign-in", nonce)


def sign_in_form_ok(nonce: str | None, presented: str | None) -> bool:
    return bool(nonce) and keyring.signature_valid("console-sign-in", nonce or "", presented)


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


def request_sign_in(email: str, source_ip: str) -> str:
    """The sign-in form's request: an admin is emailed a link (and its code), anyone else (and any mistake)
    nothing, and the answer waits until the same deadline in every case (the uniform answer's time), so
    neither what the page says nor when it says it tells who is an admin. Returns the ticket for the page's
    code form (every address gets one: it says nothing either)."""
    deadline = time.monotonic() + get_settings().uniform_response_ms / 1000
    ticket = codes.ticket(email, clock.now())
    try:
        with contextlib.suppress(ValueError, TooManyRequests):
            _send_sign_in(InviteRequest(email=email).email, source_ip)
    finally:
        time.sleep(max(0.0, deadline - time.monotonic()))
    return ticket


def _send_sign_in(email: str, source_ip: str) -> None:
    """Email a sign-in link to an admin; anyone else gets nothing.

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


def sign_in_with_code(code: str, ticket: str, source_ip: str):
    """The code from a sign-in email, typed on the sign-in page: a landing.CodeAnswer whose `done` is the
    callback with a new token in place of the emailed link (which, with the code, is spent), so the callback
    signs in as ever; or why not."""
    from . import landing

    return landing.try_code(code, ticket, ip_address=source_ip)


def sign_in(token: str) -> tuple[str, bool]:
    """Spend a console sign-in link: (session token, is_admin). A non-admin's session is ended at once."""
    done = authentication.authenticate(AuthenticateRequest(token=token), session_minutes=SESSION_MINUTES)
    if done.reader.role != ADMIN_ROLE:
        sessions.revoke_session(done.session_id, None, None)
        return "", False
    return done.session_token, True


def sign_out(session_token: str | None) -> None:
    ref = sessions.locate_token(session_token or "")
    if ref is not None:
        store.reader.remove_sessions(sessions.project_credentials().user_id(ref.user_uuid), [ref.sid])
