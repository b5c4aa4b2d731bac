"""Where a magic link may point: the deployment's redirect allow-list, matched exactly, as Stytch does, and
any page of the deployment's private site (same origin, a path under the site's root)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .credentials import site_url
from .errors import InvalidLoginRedirectUrl, InvalidRedirectUrl, NoDefaultRedirectUrl
from .settings import get_settings

_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _canonical(url: str) -> str | None:
    """scheme://host[:port]/path with the case-insensitive parts lower-cased, or None if unsafe."""
    if _UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc or parts.fragment:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def redirect_target(url: str | None, *, field: str = "invite_magic_link_url") -> str:
    """The URL the link will carry: the one asked for if it is on the allow-list, else the default.

    A URL off the allow-list is refused naming `field` (Stytch's error names the field it came in).
    """
    settings = get_settings()
    if url is None:
        if settings.default_redirect_url is None:
            raise NoDefaultRedirectUrl()
        return settings.default_redirect_url
    canonical = _canonical(url)
    allowed = {_canonical(entry) for entry in (*settings.redirect_urls, console_callback_url())}
    if canonical is None or (canonical not in allowed and not on_site(url)):
        if field == "login_magic_link_url":
            raise InvalidLoginRedirectUrl()
        raise InvalidRedirectUrl(f"{field} is not in this deployment's redirect URL allow-list.")
    return url


def with_token(url: str, token: str) -> str:
    """Stytch's link shape: the target with `token` and `stytch_token_type=magic_links` in its query."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("token", "stytch_token_type")
    ]
    query += [("token", token), ("stytch_token_type", "magic_links")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def landing_url(token: str, target: str | None = None) -> str:
    """What the email carries: the service's landing page, where GET and HEAD spend nothing. For a link to the
    private site, the landing page on the site's own domain (which sends /v1/* to the API), so that Continue
    can set the site's cookie."""
    base = site_url() if on_site(target) else get_settings().public_base_url
    return f"{base.rstrip('/')}/v1/magic_links/redirect?{urlencode({'token': token})}"


def site_root() -> str | None:
    """The private site's root, canonical and ending in `/`, or None when the deployment has no site."""
    url = site_url()
    canonical = _canonical(url) if url else None
    if canonical is None:
        return None
    return canonical if canonical.endswith("/") else canonical + "/"


def on_site(url: str | None) -> bool:
    """Whether `url` is a page of the private site: its origin, and a path under the site's root (exactly, or
    below it; `..` segments and encoded slashes are not paths under it)."""
    root = site_root()
    canonical = _canonical(url) if url and root else None
    if canonical is None or "/." in canonical or "%2f" in canonical.lower() or "%5c" in canonical.lower():
        return False
    return canonical == root.rstrip("/") or canonical.startswith(root)


def console_callback_url() -> str:
    """The admin console's sign-in target: the service's own page, so always allowed."""
    return f"{get_settings().public_base_url.rstrip('/')}/console/callback"
