"""The page an emailed link opens: GET and HEAD spend nothing (mail scanners follow links); the person's
Continue button POSTs, and only then is the token used: authenticated here with a session (hosted mode,
handed to the target in the URL fragment, which never reaches a server log) or forwarded to the app's
`invite_magic_link_url` for its backend to authenticate (app mode, as Stytch does). A link to a page of the
private site is authenticated with a site session, handed over as the site's cookies (site.sign_in)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from . import authentication, clock, links, site, store, tokens
from .credentials import project_credentials, token_keys
from .errors import MagicLinkNotFound, UnableToAuthMagicLink
from .models.items import Reader
from .models.requests import AuthenticateRequest
from .settings import get_settings


@dataclass(frozen=True)
class Link:
    reader: Reader | None
    usable: bool


def inspect(token: str) -> Link:
    """Read-only: whose link this is and whether it can still be used."""
    user_uuid = tokens.locate(token)
    if user_uuid is None:
        return Link(None, False)
    reader = store.reader.get_reader(project_credentials().user_id(user_uuid))
    if reader is None:
        return Link(None, False)
    return Link(reader, reader.link_usable(tokens.token_hashes(token_keys(), token), clock.now()))


def proceed(token: str, *, ip_address: str, user_agent: str) -> str | site.SiteSignIn:
    """The person pressed Continue: where to send them (303), with the site's cookies for a link to the
    private site. Raises the refusal when the link is spent."""
    link = inspect(token)
    if link.reader is None:
        raise MagicLinkNotFound()
    reader = link.reader
    attributes = {"ip_address": ip_address, "user_agent": user_agent[:1024]}
    if links.on_site(reader.link_url):
        done = authentication.authenticate(
            AuthenticateRequest(token=token, attributes=attributes),
            session_minutes=get_settings().site_session_minutes,
            seen=reader,
        )
        target = urlsplit(reader.link_url or "")
        return site.sign_in(done, target.path + (f"?{target.query}" if target.query else ""))
    if not reader.link_session_minutes:
        if not link.usable:
            raise UnableToAuthMagicLink()
        return links.with_token(reader.link_url or "", token)
    done = authentication.authenticate(
        AuthenticateRequest(token=token, attributes=attributes),
        session_minutes=reader.link_session_minutes,
        seen=reader,
    )
    fragment = urlencode({"session_token": done.session_token, "session_jwt": done.session_jwt})
    return f"{(reader.link_url or '').split('#')[0]}#{fragment}"
