"""The page an emailed link opens: GET and HEAD spend nothing (mail scanners follow links); the person's
Continue button POSTs, and only then is the token used: authenticated here with a session (hosted mode,
handed to the target in the URL fragment, which never reaches a server log) or forwarded to the app's
`invite_magic_link_url` for its backend to authenticate (app mode, as Stytch does). A link to a page of the
private site is authenticated with a site session, handed over as the site's cookies (site.sign_in).

The code emailed beside the link finishes the same way on the page where the person asked for it
(`proceed_with_code`): a session in hosted mode (or the site's cookies), or in app mode a fresh token for
the app, in place of the link the code was sent with (code and link are one credential)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from . import authentication, clock, codes, limits, links, site, store, tokens
from .credentials import project_credentials, token_keys
from .errors import MagicLinkNotFound, OtpCodeNotFound, TooManyRequests, UnableToAuthMagicLink
from .models.items import Reader
from .models.requests import AuthenticateRequest, OtpAuthenticateRequest
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
        return _site_sign_in(reader, done)
    if not reader.link_session_minutes:
        if not link.usable:
            raise UnableToAuthMagicLink()
        return links.with_token(reader.link_url or "", token)
    done = authentication.authenticate(
        AuthenticateRequest(token=token, attributes=attributes),
        session_minutes=reader.link_session_minutes,
        seen=reader,
    )
    return _hosted_target(reader, done)


def proceed_with_code(code: str, ticket: str, *, ip_address: str, user_agent: str) -> str | site.SiteSignIn:
    """A code typed on the page where its link was asked for (`ticket`: that browser's, naming the email):
    where to send the person (303), as Continue would have for the link (with the site's cookies for a link
    to the private site). Each try with a ticket counts
    against the public code budgets first (TooManyRequests); any failure (wrong, expired, spent, out of
    tries, no valid ticket, an email with no link) is one answer, OtpCodeNotFound, that says nothing of
    whether the email has access."""
    now = clock.now()
    asked = codes.read_ticket(ticket, now)
    if asked is None or tokens.normal_code(code) is None:
        raise OtpCodeNotFound()  # nothing to try: nothing counted, nothing read
    email, since = asked
    limits.take_code_attempt(now, email=email, ip=ip_address)
    user_id = store.reader.find_user_id(email)
    reader = store.reader.get_reader(user_id) if user_id else None
    if reader is None:
        raise OtpCodeNotFound()
    on_site = links.on_site(reader.link_url)
    if not (on_site or reader.link_session_minutes):  # app mode: the app's backend authenticates a token
        reader, token = authentication.exchange_code(reader.user_id, code, issued_since=since)
        return links.with_token(reader.link_url or "", token)
    attributes = {"ip_address": ip_address, "user_agent": user_agent[:1024]}
    done = authentication.authenticate_code(
        reader.user_id,
        code,
        OtpAuthenticateRequest(method_id=reader.email_id, code=code, attributes=attributes),
        session_minutes=get_settings().site_session_minutes if on_site else reader.link_session_minutes,
        issued_since=since,
        seen=reader,
    )
    return _site_sign_in(reader, done) if on_site else _hosted_target(reader, done)


WRONG_CODE = "That code didn't work: it is wrong, expired or already used. Check it, or ask again."


@dataclass(frozen=True)
class CodeAnswer:
    """What a page answers a typed code: where to go (`done`), or why not (`message`, `status`, `headers`)."""

    done: str | site.SiteSignIn | None
    message: str = ""
    status: int = 303
    headers: dict[str, str] = field(default_factory=dict)


def try_code(code: str, ticket: str, *, ip_address: str, user_agent: str = "") -> CodeAnswer:
    """proceed_with_code, its refusals worded for the page (one wording: it says nothing of the email)."""
    try:
        return CodeAnswer(proceed_with_code(code, ticket, ip_address=ip_address, user_agent=user_agent))
    except OtpCodeNotFound:
        return CodeAnswer(
            None, "That code didn't work: it is wrong, expired or already used. Check it, or ask again.", 400
        )
    except TooManyRequests as refused:
        return CodeAnswer(None, "Too many tries. Wait a while, then ask for a new link.", 429, refused.headers)


def _site_sign_in(reader: Reader, done: authentication.Authenticated) -> site.SiteSignIn:
    """A link to the private site: its page, with the site's cookies for the session."""
    target = urlsplit(reader.link_url or "")
    return site.sign_in(done, target.path + (f"?{target.query}" if target.query else ""))


def _hosted_target(reader: Reader, done: authentication.Authenticated) -> str:
    """Hosted mode's target: the link's URL with the session in its fragment (never sent to a server)."""
    fragment = urlencode({"session_token": done.session_token, "session_jwt": done.session_jwt})
    return f"{(reader.link_url or '').split('#')[0]}#{fragment}"
