"""Every locale's templates render safely, with the same markup and variables as English, in every link mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from magiclink.resources import TEMPLATES

LANG = {"en": "en", "es": "es", "fr": "fr", "pt-br": "pt-BR"}
# Email locales are the folders named like a language tag; templates/pages holds the web pages, not an email locale.
LOCALE_TAG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")
LOCALES = sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir() and LOCALE_TAG.fullmatch(p.name))
TRANSLATIONS = [locale for locale in LOCALES if locale != "en"]
TEMPLATE_IDS = sorted(p.name.removesuffix(".html") for p in (TEMPLATES / "en").glob("*.html"))
SUFFIXES = (".subject.txt", ".html", ".txt")
PARTS = [f"{template_id}{suffix}" for template_id in TEMPLATE_IDS for suffix in SUFFIXES]
BODIES = [f"{template_id}{suffix}" for template_id in TEMPLATE_IDS for suffix in (".html", ".txt")]
LINK = "https://docs.example.com/auth?token=abc&stytch_token_type=magic_links"
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
NBSP = ("\u00a0", "\u202f")
CODE = "482913"  # the link emails' one-time code ("" when the email carries none: tests/unit/test_mail_codes.py)

# The exact variables each template is rendered with (StrictUndefined catches any other), and which of them carries
# text a stranger chose. A template added to en/ without an entry here fails the tests until it gets one.
CONTEXTS: dict[str, dict[str, object]] = {
    "invite": {
        "project": "Example Docs",
        "name": HOSTILE,
        "inviter": "",
        "link": LINK,
        "expires_in": "<EXPIRES>",
        "reusable": False,
        "code": CODE,
        "code_expires_in": "<CODE_EXPIRES>",
    },
    "login": {
        "project": "Example Docs",
        "name": HOSTILE,
        "inviter": "",
        "link": LINK,
        "expires_in": "<EXPIRES>",
        "reusable": False,
        "code": CODE,
        "code_expires_in": "<CODE_EXPIRES>",
    },
    "access_request": {"project": "Example Docs", "requester": HOSTILE, "link": LINK, "expires_in": "<EXPIRES>"},
    "revoked": {"project": "Example Docs", "name": HOSTILE},
}
UNTRUSTED = {"invite": "name", "login": "name", "access_request": "requester", "revoked": "name"}
# Templates that may name who invited the reader ("" when unknown); the name is chosen by the inviting caller.
WITH_INVITER = [template_id for template_id in TEMPLATE_IDS if "inviter" in CONTEXTS.get(template_id, {})]
INVITER = "Grace from Acme"
REUSABLE_MODES = [
    (template_id, reusable)
    for template_id in TEMPLATE_IDS
    for reusable in ([True, False] if "reusable" in CONTEXTS.get(template_id, {}) else [None])
]


@pytest.fixture(scope="module")
def env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def _template_id(part: str) -> str:
    return part.split(".", 1)[0]


def _render(env: Environment, locale: str, part: str, *, reusable: bool | None = None, **overrides: object) -> str:
    context = dict(CONTEXTS[_template_id(part)])
    if reusable is not None:
        context["reusable"] = reusable
    context.update(overrides)
    return env.get_template(f"{locale}/{part}").render(**context)


def _unescape(html: str) -> str:
    return html.replace("&lt;", "<").replace("&gt;", ">")


def _source(locale: str, part: str) -> str:
    return Path(TEMPLATES, locale, part).read_text(encoding="utf-8")


def _prose(locale: str, part: str) -> str:
    """The words a reader sees: the template source without markup, Jinja tags or variables."""
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", _source(locale, part))
    if part.endswith(".html"):
        text = re.sub(r"<[^>]*>", " ", text)
    return text


def test_every_supported_locale_has_a_folder():
    assert set(LANG) <= set(LOCALES)


def test_every_english_template_has_a_sample_context():
    assert set(TEMPLATE_IDS) == set(CONTEXTS) == set(UNTRUSTED)
    assert {"invite", "login", "access_request", "revoked"} <= set(TEMPLATE_IDS)


def _has(template_id: str, variable: str) -> bool:
    return variable in CONTEXTS[template_id]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("part", PARTS)
def test_every_part_exists(locale, part):
    assert (TEMPLATES / locale / part).is_file()


@pytest.mark.parametrize("locale", TRANSLATIONS)
def test_no_locale_has_a_template_english_lacks(locale):
    english = {p.name for p in (TEMPLATES / "en").iterdir()}
    assert {p.name for p in (TEMPLATES / locale).iterdir()} <= english


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("template_id", "reusable"), REUSABLE_MODES)
def test_the_text_part_has_the_raw_link_and_untrusted_value(env, locale, template_id, reusable):
    text = _render(env, locale, f"{template_id}.txt", reusable=reusable)

    if _has(template_id, "link"):
        assert text.count(LINK) == 1
    else:
        assert "://" not in text, "a template without a link variable must not carry a hard-coded one"
    assert HOSTILE in text
    if _has(template_id, "expires_in"):
        assert "<EXPIRES>" in text
    assert "Example Docs" in text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("template_id", "reusable"), REUSABLE_MODES)
def test_the_html_part_escapes_the_link_and_untrusted_value(env, locale, template_id, reusable):
    html = _render(env, locale, f"{template_id}.html", reusable=reusable)

    assert LINK not in html
    if _has(template_id, "link"):
        assert html.count(f'href="{LINK.replace("&", "&amp;")}"') == 2
        assert html.count(LINK.replace("&", "&amp;")) == 3  # the button, the fallback link and its visible text
    else:
        assert "<a " not in html and "href=" not in html, "a template without a link variable must not link anywhere"
    assert "<script>" not in html
    assert ESCAPED in html
    if _has(template_id, "expires_in"):
        assert "&lt;EXPIRES&gt;" in html
    assert "Example Docs" in html


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("template_id", "reusable"), REUSABLE_MODES)
def test_the_subject_is_one_line(env, locale, template_id, reusable):
    subject = _render(env, locale, f"{template_id}.subject.txt", reusable=reusable)

    assert "\n" not in subject and "\r" not in subject
    assert subject == subject.strip()
    assert "Example Docs" in subject


@pytest.mark.parametrize("locale", TRANSLATIONS)
@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_the_subject_names_the_untrusted_value_where_english_does(env, locale, template_id):
    part = f"{template_id}.subject.txt"
    field = UNTRUSTED[template_id]

    english = _render(env, "en", part, **{field: "Ada"})
    translated = _render(env, locale, part, **{field: "Ada"})

    assert ("Ada" in translated) == ("Ada" in english)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("part", [part for part in BODIES if "reusable" in CONTEXTS.get(_template_id(part), {})])
def test_reusable_and_single_use_links_read_differently(env, locale, part):
    once = _render(env, locale, part, reusable=False)
    reusable = _render(env, locale, part, reusable=True)

    assert once != reusable
    assert "<EXPIRES>" in _unescape(once)
    assert "<EXPIRES>" in _unescape(reusable)


def _greeting(env: Environment, locale: str, part: str, **overrides: object) -> str:
    rendered = _render(env, locale, part, **overrides)
    if part.endswith(".html"):
        return re.search(r"<td[^>]*>\s*<p[^>]*>(.*?)</p>", rendered).group(1)
    return rendered.split("\n", 1)[0]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("part", BODIES)
def test_the_greeting_reads_well_with_and_without_a_name(env, locale, part):
    if "name" not in CONTEXTS[_template_id(part)]:
        bare = _greeting(env, locale, part)
        assert re.fullmatch(r"\w+[,:]", bare), bare
        return
    bare = _greeting(env, locale, part, name="")
    named = _greeting(env, locale, part, name="Ada")

    assert re.fullmatch(r"\w+[,:]", bare), bare
    assert re.fullmatch(r"\w+,? Ada[,:]", named), named


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_the_html_declares_its_language(env, locale, template_id):
    assert f'<html lang="{LANG.get(locale, locale)}">' in _render(env, locale, f"{template_id}.html")


@pytest.mark.parametrize("locale", TRANSLATIONS)
@pytest.mark.parametrize("part", PARTS)
def test_markup_and_variables_are_those_of_english(locale, part):
    def skeleton(source: str) -> list[str]:
        tags = re.findall(r"<[^>]*>|{%.*?%}|{{.*?}}", source)
        return [re.sub(r'^<html lang="[^"]*">$', "<html>", tag) for tag in tags]

    assert skeleton(_source(locale, part)) == skeleton(_source("en", part))
    assert _source(locale, part).count("\n") == _source("en", part).count("\n")


@pytest.mark.parametrize("locale", TRANSLATIONS)
@pytest.mark.parametrize("part", PARTS)
def test_every_line_of_prose_is_translated(locale, part):
    english = _prose("en", part).split("\n")
    translated = _prose(locale, part).split("\n")

    for number, (source, target) in enumerate(zip(english, translated, strict=True), start=1):
        if re.search(r"[A-Za-z]{3}", source):
            assert target.split() != source.split(), f"line {number} of {locale}/{part} is still English"


@pytest.mark.parametrize("part", PARTS)
def test_french_typography(part):
    prose = _prose("fr", part)

    assert "'" not in prose, "use the typographic apostrophe U+2019"
    for match in re.finditer(r"[:;!?»]", prose):
        assert prose[match.start() - 1] in NBSP, (
            f"no-break space needed before {prose[match.start() - 8 : match.end()]!r}"
        )
    for match in re.finditer(r"«", prose):
        assert prose[match.end()] in NBSP


def _opening(env: Environment, locale: str, part: str, **overrides: object) -> str:
    """The sentence after the greeting: the second paragraph of the HTML, the third line of the text."""
    rendered = _render(env, locale, part, **overrides)
    if part.endswith(".html"):
        return re.findall(r"<p[^>]*>(.*?)</p>", rendered)[1]
    return rendered.split("\n")[2]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template_id", WITH_INVITER)
def test_a_hostile_inviter_is_escaped_in_html_and_kept_in_text(env, locale, template_id):
    subject = _render(env, locale, f"{template_id}.subject.txt", name="Ada", inviter=HOSTILE)
    html = _render(env, locale, f"{template_id}.html", name="Ada", inviter=HOSTILE)
    text = _render(env, locale, f"{template_id}.txt", name="Ada", inviter=HOSTILE)

    assert "\n" not in subject and "\r" not in subject
    assert subject == subject.strip()
    assert "Example Docs" in subject
    assert "<script>" not in html
    assert html.count(ESCAPED) == text.count(HOSTILE)
    if template_id == "invite":
        assert subject.count(HOSTILE) == 1
        assert text.count(HOSTILE) == 1


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("part", [f"invite{suffix}" for suffix in SUFFIXES])
def test_the_invite_says_who_invited_only_when_known(env, locale, part):
    named = _render(env, locale, part, name="Ada", inviter=INVITER)
    anonymous = _render(env, locale, part, name="Ada", inviter="")

    assert named.count(INVITER) == 1
    assert INVITER not in anonymous
    assert named != anonymous
    if not part.endswith(".subject.txt"):
        named_opening = _opening(env, locale, part, name="Ada", inviter=INVITER)
        anonymous_opening = _opening(env, locale, part, name="Ada", inviter="")
        assert INVITER in named_opening
        # Only the opening sentence changes.
        assert named.replace(named_opening, "") == anonymous.replace(anonymous_opening, "")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_login_subject_does_not_change_with_an_inviter(env, locale):
    part = "login.subject.txt"
    assert _render(env, locale, part, inviter=INVITER) == _render(env, locale, part, inviter="")


@pytest.mark.parametrize("locale", TRANSLATIONS)
@pytest.mark.parametrize("template_id", WITH_INVITER)
def test_the_subject_names_the_inviter_where_english_does(env, locale, template_id):
    part = f"{template_id}.subject.txt"

    english = _render(env, "en", part, inviter=INVITER)
    translated = _render(env, locale, part, inviter=INVITER)

    assert (INVITER in translated) == (INVITER in english)


def test_the_english_invite_reads_as_before_without_an_inviter_and_names_one_when_known(env):
    subject = _render(env, "en", "invite.subject.txt", inviter="")
    named_subject = _render(env, "en", "invite.subject.txt", inviter=INVITER)

    assert subject == "You're invited to Example Docs"
    assert named_subject == "Grace from Acme invited you to Example Docs"
    assert _opening(env, "en", "invite.html", inviter="") == "You have been invited to <strong>Example Docs</strong>."
    assert _opening(env, "en", "invite.html", inviter=INVITER) == (
        "Grace from Acme invited you to <strong>Example Docs</strong>."
    )
    assert _opening(env, "en", "invite.txt", inviter="") == "You have been invited to Example Docs."
    assert _opening(env, "en", "invite.txt", inviter=INVITER) == "Grace from Acme invited you to Example Docs."
