"""The page an emailed link opens: GET and HEAD spend nothing (mail scanners follow links); the person's
Continue button POSTs, and only then is the token used: authenticated here with a session (hosted mode,
handed to the target in the URL fragment, which never reaches a server log) or forwarded to the app's
`invite_magic_link_url` for its backend to authenticate (app mode, as Stytch does)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from . import authentication, clock, links, store, tokens
from .credentials import project_credentials, token_keys
from .errors import MagicLinkNotFound, UnableToAuthMagicLink
from .models.items import Reader
from .models.requests import AuthenticateRequest


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


def proceed(token: str, *, ip_address: str, user_agent: str) -> str:
    """The person pressed Continue: where to send them (303). Raises the refusal when the link is spent."""
    link = inspect(token)
    if link.reader is None:
        raise MagicLinkNotFound()
    reader = link.reader
    if not reader.link_session_minutes:
        if not link.usable:
            raise UnableToAuthMagicLink()
        return links.with_token(reader.link_url or "", token)
    done = authentication.authenticate(
        AuthenticateRequest(token=token, attributes={"ip_address": ip_address, "user_agent": user_agent[:1024]}),
        session_minutes=reader.link_session_minutes,
        seen=reader,
    )
    fragment = urlencode({"session_token": done.session_token, "session_jwt": done.session_jwt})
    return f"{(reader.link_url or '').split('#')[0]}#{fragment}"
