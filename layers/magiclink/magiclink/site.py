"""The private site's sign-in, refresh and sign-out: which cookies to set or clear, and where to go next.

Two cookies, both HttpOnly and SameSite=Lax:
- the site cookie (`__Host-ml_site` on https, `ml_site` on http; Path=/): sitecookie's signed value, which
  the edge gate checks with no network. Its value ends at most 55 s ahead; the cookie itself lives as long
  as the session, so that an expired but genuine one reaches /_site/refresh rather than the /access form.
- the refresh cookie (`__Secure-ml_site_refresh` / `ml_site_refresh`; Path=/_site/, so only the service
  ever sees it): the session token, checked in DynamoDB by every refresh, which is how a revoked reader,
  a deleted user or an ended session is out within a minute.

Lax, not Strict: a reader who follows a link to the site from elsewhere (a chat, their mail) arrives on a
cross-site navigation, which the gate answers with a redirect to /_site/refresh; with Strict neither cookie
would come along on that chain and a signed-in reader would be sent to the /access form. Lax cookies are
still never sent on another site's POSTs or subresource requests, and sign-out checks the origin.

Knows no HTTP framework: the cookies are data, and the handler builds the response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from . import clock, links, sessions, sitecookie
from .authentication import Authenticated
from .errors import ServiceError, SessionNotFound
from .observability import logger

ACCESS_PATH = "/access"
MAX_NEXT = 2048
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class Cookie:
    """A cookie to set (max_age > 0) or clear (max_age 0); always HttpOnly and SameSite=Lax."""

    name: str
    value: str
    path: str
    max_age: int
    secure: bool


@dataclass(frozen=True)
class SiteSignIn:
    """Where to send the reader (303) and the cookies to set or clear on the way."""

    location: str
    cookies: tuple[Cookie, ...]


def _root() -> str:
    root = links.site_root()
    if root is None:
        raise SessionNotFound("This deployment has no private site.")
    return root


def _secure() -> bool:
    return _root().startswith("https://")


def cookie_names() -> tuple[str, str]:
    """(site cookie, refresh cookie): the `__Host-` and `__Secure-` prefixes on https, plain names on http."""
    if _secure():
        return "__Host-ml_site", "__Secure-ml_site_refresh"
    return "ml_site", "ml_site_refresh"


def _origin() -> str:
    parts = urlsplit(_root())
    return f"{parts.scheme}://{parts.netloc}"


def safe_next(next_path: str | None) -> str:
    """`next` when it is a path on the site (under its root, with its query), else the site's root path.

    Refused: anything with a scheme or host (`https://evil.com`, `//evil.com`), backslashes and control
    characters (which browsers read as slashes or drop), and paths outside the site's root."""
    root_path = urlsplit(_root()).path or "/"
    value = next_path or ""
    if not value.startswith("/") or value.startswith("//") or len(value) > MAX_NEXT or _UNSAFE.search(value):
        return root_path
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment or not links.on_site(_origin() + parts.path):
        return root_path
    return value


def _site_cookie(session_id: str, expires_at: int, now: int) -> Cookie:
    name, _ = cookie_names()
    value = sitecookie.sign(session_id, now=now, expires_at=expires_at)
    return Cookie(name, value, "/", max(0, expires_at - now), _secure())


def _cleared() -> tuple[Cookie, ...]:
    site, refresh = cookie_names()
    return Cookie(site, "", "/", 0, _secure()), Cookie(refresh, "", "/_site/", 0, _secure())


def page_url(next_path: str | None) -> str | None:
    """The site's page `next_path` (its root when that is not a path on the site), or None with no site."""
    if links.site_root() is None:
        return None
    return _origin() + safe_next(next_path)


def access_location(next_path: str | None = None) -> str:
    """The site's /access form, carrying `next` (when it is a path on the site) back to the page asked for."""
    query = f"?{urlencode({'next': safe_next(next_path)})}" if next_path else ""
    return f"{_origin()}{ACCESS_PATH}{query}"


def sign_in(authenticated: Authenticated, next_path: str | None) -> SiteSignIn:
    """A reader just authenticated (a link's Continue, or a code): the cookies, and the page they asked for."""
    now = clock.now()
    entry = authenticated.session
    if entry is None:
        raise SessionNotFound()
    _, refresh = cookie_names()
    remaining = max(0, entry.expires_at - now)
    cookies = (
        _site_cookie(authenticated.session_id, entry.expires_at, now),
        Cookie(refresh, authenticated.session_token, "/_site/", remaining, _secure()),
    )
    return SiteSignIn(_origin() + safe_next(next_path), cookies)


def refresh(session_token: str | None, next_path: str | None) -> SiteSignIn:
    """The gate found an expired site cookie: a new one if the session (and its grant) is still live in the
    table; otherwise both cookies cleared and the /access form, carrying `next`."""
    now = clock.now()
    ref = sessions.locate_token(session_token or "")
    try:
        if ref is None:
            raise SessionNotFound()
        _, entry = sessions.current(ref, session_token, now)
    except SessionNotFound:
        logger.info("site refresh refused")
        return SiteSignIn(access_location(next_path or "/"), _cleared())
    session_id = sessions.format_session_id(ref.user_uuid, ref.sid)
    return SiteSignIn(_origin() + safe_next(next_path), (_site_cookie(session_id, entry.expires_at, now),))


def sign_out(session_token: str | None) -> SiteSignIn:
    """End the session (its token and every JWT it issued stop working), clear both cookies, go to /access."""
    if session_token:
        try:
            sessions.revoke_session(None, session_token, None)
        except ServiceError as refused:  # already ended, or not a session token: signed out either way
            logger.info("site sign-out of no live session", extra={"error_type": refused.error_type})
    return SiteSignIn(access_location(), _cleared())
