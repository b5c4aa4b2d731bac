"""GET /_local/outbox: the local outbox as a page for people, newest message first.

No JavaScript and no external assets. `?message=<id>` opens one message: its HTML part in a sandboxed
iframe (scripts never run; a click on a link navigates the whole tab, so the landing page opens as it
would from a mail client) and its text part with the http(s) links made clickable.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from .stack import Mail

PATH = "/_local/outbox"
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

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;
  color:#1f2328;background:#f5f6f8}
header{display:flex;gap:16px;align-items:baseline;padding:12px 20px;background:#fff;border-bottom:1px solid #d0d7de}
header h1{font-size:18px;margin:0}
header span{color:#57606a}
a{color:#0969da}
main{display:grid;grid-template-columns:minmax(260px,360px) minmax(0,1fr);min-height:calc(100vh - 50px)}
nav{background:#fff;border-right:1px solid #d0d7de}
nav ol{list-style:none;margin:0;padding:0}
nav a{display:block;padding:10px 16px;border-bottom:1px solid #eaeef2;border-left:3px solid transparent;
  color:inherit;text-decoration:none}
nav a:hover{background:#f6f8fa}
nav a[aria-current]{background:#ddf4ff;border-left-color:#0969da}
.subject{display:block;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.meta{display:flex;justify-content:space-between;gap:8px;color:#57606a;font-size:12px}
.meta .to{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.meta time{flex:none}
section{padding:20px 24px;min-width:0}
section h2{font-size:20px;margin:0 0 12px}
section h3{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#57606a;margin:20px 0 8px}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 12px;margin:0}
dt{color:#57606a}
dd{margin:0;overflow-wrap:anywhere}
iframe{display:block;width:100%;height:560px;border:1px solid #d0d7de;border-radius:6px;background:#fff}
pre{margin:0;padding:12px 14px;background:#fff;border:1px solid #d0d7de;border-radius:6px;
  white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px}
.empty{color:#57606a;padding:16px}
@media (max-width:760px){main{grid-template-columns:1fr;align-content:start}nav{border-right:0}}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


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


def _item(mail: Mail, selected: bool) -> str:
    current = ' aria-current="true"' if selected else ""
    return (
        f'<li><a href="{_e(_href(mail.message_id))}"{current}>'
        f'<span class="subject">{_e(mail.subject) or "(no subject)"}</span>'
        f'<span class="meta"><span class="to">{_e(", ".join(mail.to))}</span>'
        f'<time datetime="{_e(mail.sent_at)}">{_e(_when(mail.sent_at))}</time></span>'
        f'<span class="meta"><span class="to">from {_e(mail.sender)}</span></span>'
        "</a></li>"
    )


def _message(mail: Mail) -> str:
    if mail.html:
        srcdoc = html.escape(with_top_target(mail.html), quote=True)
        html_part = f'<iframe title="The message as HTML" sandbox="{SANDBOX}" srcdoc="{srcdoc}"></iframe>'
    else:
        html_part = '<p class="empty">This message has no HTML part.</p>'
    text_part = f"<pre>{linkify(mail.text)}</pre>" if mail.text else '<p class="empty">No text part.</p>'
    return (
        f"<section><h2>{_e(mail.subject) or '(no subject)'}</h2><dl>"
        f"<dt>From</dt><dd>{_e(mail.sender)}</dd>"
        f"<dt>To</dt><dd>{_e(', '.join(mail.to))}</dd>"
        f'<dt>Date</dt><dd><time datetime="{_e(mail.sent_at)}">{_e(_when(mail.sent_at))}</time></dd>'
        f"<dt>Message id</dt><dd>{_e(mail.message_id)}</dd></dl>"
        f"<h3>HTML</h3>{html_part}<h3>Text</h3>{text_part}</section>"
    )


def render(mails: Sequence[Mail], message_id: str | None = None) -> tuple[int, str]:
    """(status, page): the outbox, newest first, with `message_id` open (404 when there is no such message)."""
    newest_first = list(reversed(mails))
    opened = next((m for m in newest_first if m.message_id == message_id), None) if message_id else None
    status = 404 if message_id and opened is None else 200
    if newest_first:
        items = "".join(_item(m, m is opened) for m in newest_first)
        listing = f"<ol>{items}</ol>"
    else:
        listing = (
            '<p class="empty">No mail yet. Invite someone (<code>POST /v1/magic_links/email/invite</code>) '
            "and reload.</p>"
        )
    if opened is not None:
        pane = _message(opened)
    elif status == 404:
        pane = '<section><h2>No such message</h2><p class="empty">It may have been cleared.</p></section>'
    else:
        pane = '<section><p class="empty">Pick a message to read it and follow its links.</p></section>'
    count = len(newest_first)
    title = f"{_e(opened.subject)} · Local outbox" if opened is not None else "Local outbox"
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f'<header><h1><a href="{PATH}" style="color:inherit;text-decoration:none">Local outbox</a></h1>'
        f"<span>{count} message{'' if count == 1 else 's'}, newest first</span>"
        f'<span><a href="{PATH}.json">JSON</a></span></header>'
        f'<main><nav aria-label="Messages">{listing}</nav>{pane}</main></body></html>'
    )
    return status, page
