"""GET /_local/outbox: the local outbox as a page for people, newest message first.

No JavaScript and no external assets. `?message=<id>` opens one message: its HTML part in a sandboxed
iframe (scripts never run; a click on a link navigates the whole tab, so the landing page opens as it
would from a mail client), its text part with the http(s) links made clickable, and the one-time codes
it carries (`Mail.codes`), large enough to read off and type. The markup is
templates/outbox.html (Jinja2, autoescaped, StrictUndefined); what it needs escaped differently is a filter here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup

from .stack import Mail

PATH = "/_local/outbox"
TEMPLATES = Path(__file__).parent / "templates"
# Links inside the email may open a new tab or navigate this one, on a click only; no scripts, no same-origin.
SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
# The srcdoc iframe inherits this policy, so it covers the email's HTML too: inline styles, nothing else.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the links carry tokens
    "Cache-Control": "no-store",
}

_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
# In text already escaped: a URL runs until whitespace, a tag character, a quote or any entity but &amp;.
_URL = re.compile(r"https?://(?:[^\s<>&\"']|&amp;)+")
_TRAILING = ".,;:!?)]"


def _when(sent_at: str) -> str:
    try:
        moment = datetime.fromisoformat(sent_at)
    except ValueError:
        return sent_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo is not None else "")


def _href(message_id: str) -> str:
    return f"{PATH}?message={quote(message_id, safe='')}"


def with_top_target(document: str) -> str:
    """The email's HTML with `<base target="_top">`, so its links open in the tab, not inside the frame.

    (The landing page refuses to be framed; a mail client opens links outside the message too.)
    """
    base = '<base target="_top">'
    found = _HEAD.search(document)
    if found:
        return document[: found.end()] + base + document[found.end() :]
    return base + document


def linkify(text: str) -> str:
    """Plain text as HTML: everything escaped, then each http(s) URL made a link."""

    def link(found: re.Match) -> str:
        url = found.group(0)
        trail = ""
        while url and url[-1] in _TRAILING:
            url, trail = url[:-1], url[-1] + trail
        return f'<a href="{url}" rel="noreferrer">{url}</a>{trail}'

    return _URL.sub(link, html.escape(text, quote=True))


def _escaped(value: object) -> object:
    """Each value the template writes, escaped as this page always was: html.escape's entities (&quot;, &#x27;)
    where markupsafe's would be &#34; and &#39;. Autoescaping leaves the Markup this returns as it is."""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))  # noqa: S704 - escaped just now


@cache
def _template() -> Template:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_escaped,
    )
    environment.filters.update(
        when=_when,
        message_href=_href,
        top_target=with_top_target,
        linkify=lambda text: Markup(linkify(text)),  # noqa: S704 - linkify escapes everything first
    )
    return environment.get_template("outbox.html")


def render(mails: Sequence[Mail], message_id: str | None = None) -> tuple[int, str]:
    """(status, page): the outbox, newest first, with `message_id` open (404 when there is no such message)."""
    newest_first = list(reversed(mails))
    opened = next((m for m in newest_first if m.message_id == message_id), None) if message_id else None
    status = 404 if message_id and opened is None else 200
    page = _template().render(path=PATH, sandbox=SANDBOX, mails=newest_first, opened=opened, missing=status == 404)
    return status, page
