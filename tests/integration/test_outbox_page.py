"""GET /_local/outbox: the outbox as a page for people, served by `make run`'s server."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from support import LocalServer, request

from local import outbox_page
from local.stack import Mail

SCRIPT_NAME = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def base():
    server = LocalServer.start()
    yield server.base
    server.stop()


def _get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class _Elements(HTMLParser):
    """Every start tag's attributes (values unescaped, as a browser reads them), by tag."""

    def __init__(self, page: str):
        super().__init__()
        self.found: dict[str, list[dict]] = {}
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.found.setdefault(tag, []).append(dict(attrs))


def test_the_outbox_page_lists_newest_first_and_opens_a_message_with_working_links(base):
    assert request("DELETE", f"{base}/_local/outbox.json", auth=False) == (200, [])
    invite = f"{base}/v1/magic_links/email/invite"
    assert request("POST", invite, {"email": "ada@example.com", "name": {"first_name": "Ada"}})[0] == 200
    grace = {"email": "grace@example.com", "name": {"first_name": SCRIPT_NAME, "last_name": "Hopper"}}
    assert request("POST", invite, grace)[0] == 200
    _, (ada_mail, grace_mail) = request("GET", f"{base}/_local/outbox.json", auth=False)  # unchanged: oldest first
    for mail in (ada_mail, grace_mail):  # beside the links, the one-time codes: six digits alone on a text line
        assert mail["codes"] == [line for line in mail["text"].splitlines() if re.fullmatch(r"[0-9]{6}", line)]

    status, headers, page = _get(f"{base}/_local/outbox")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    # Newest first, each a link that opens it; nothing open yet
    opened = re.findall(r'href="/_local/outbox\?message=([^"]+)"', page)
    assert opened == [quote(grace_mail["message_id"], safe=""), quote(ada_mail["message_id"], safe="")]
    assert page.index("grace@example.com") < page.index("ada@example.com")
    assert html.escape(grace_mail["subject"]) in page and "2 messages, newest first" in page
    assert "<iframe" not in page

    status, headers, page = _get(f"{base}/_local/outbox?message={opened[0]}")
    assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"
    # The HTML part, escaped whole into srcdoc (links open in the tab: the landing page refuses frames)
    (iframe,) = _Elements(page).found["iframe"]
    assert iframe["sandbox"] == "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
    assert iframe["srcdoc"] == outbox_page.with_top_target(grace_mail["html"])
    assert f'srcdoc="{html.escape(outbox_page.with_top_target(grace_mail["html"]), quote=True)}"' in page
    assert '<base target="_top">' in iframe["srcdoc"]
    # The name with <script>: escaped in the email's HTML, and again in srcdoc; escaped in the text part
    assert "&lt;script&gt;" in grace_mail["html"] and "&amp;lt;script&amp;gt;alert(1)" in page
    assert SCRIPT_NAME in grace_mail["text"] and html.escape(SCRIPT_NAME) in page
    assert "<script" not in page.lower()
    # The landing link: in the HTML part, and clickable in the text part
    link = grace_mail["links"][0]
    assert link.startswith(f"{base}/v1/magic_links/redirect?token=")
    assert f'href="{html.escape(link)}"' in iframe["srcdoc"]
    assert link in [a["href"] for a in _Elements(page).found["a"]]
    assert f'<a href="{html.escape(link)}" rel="noreferrer">{html.escape(link)}</a>' in page
    status, _, landing = _get(link)
    assert status == 200 and "Continue" in landing

    status, _, page = _get(f"{base}/_local/outbox?message=no-such-message")
    assert status == 404 and "No such message" in page and "<iframe" not in page
    assert request("DELETE", f"{base}/_local/outbox.json", auth=False) == (200, [])
    status, _, page = _get(f"{base}/_local/outbox")
    assert status == 200 and "No mail yet" in page


def test_every_field_of_a_message_is_escaped():
    hostile = Mail(
        to=['"<script>to</script>" <x@example.com>'],
        sender="<script>from</script> <no-reply@example.com>",
        subject='<script>alert("subject")</script> & more',
        html='<p onclick="alert(1)">"quoted" &amp; <script>alert(2)</script></p>',
        text='Open https://example.com/a?b=1&c=2. Or <https://example.com/x>, javascript:alert(3) "https://q.example"',
        links=[],
        codes=["<script>alert(5)</script>"],
        sent_at="2025-01-02T03:04:05+00:00",
        message_id='id"><script>alert(4)</script>',
    )
    status, page = outbox_page.render([hostile], hostile.message_id)
    assert status == 200
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt; &amp; more" in page
    assert "2025-01-02 03:04:05 UTC" in page
    assert '<code class="code">&lt;script&gt;alert(5)&lt;/script&gt;</code>' in page
    # srcdoc holds the HTML verbatim once unescaped, and nothing in it can end the attribute
    (iframe,) = _Elements(page).found["iframe"]
    assert iframe["srcdoc"] == '<base target="_top">' + hostile.html
    # Only http(s) URLs become links, without the punctuation around them
    hrefs = [a["href"] for a in _Elements(page).found["a"]]
    assert "https://example.com/a?b=1&c=2" in hrefs and "https://example.com/x" in hrefs
    assert "https://q.example" in hrefs
    assert not [h for h in hrefs if h.startswith("javascript")]


def test_linkify_escapes_first_then_links_only_http():
    assert outbox_page.linkify("<b>x</b> ftp://a.example http://a.example/?q=<1>") == (
        "&lt;b&gt;x&lt;/b&gt; ftp://a.example "
        '<a href="http://a.example/?q=" rel="noreferrer">http://a.example/?q=</a>&lt;1&gt;'
    )
