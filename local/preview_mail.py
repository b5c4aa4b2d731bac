"""`make preview-mail`: every email template in every locale, rendered with sample data by the real renderer.

Writes .preview/mail/<locale>/<template>.html and .txt, and an index.html listing them all with their
subject lines; prints the index's path. `python -m local.preview_mail --out DIR` writes elsewhere.
A template in templates/en/ with no sample data here is an error: add its context to `samples()`.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "magiclink"
TEMPLATES = LAYER / "magiclink" / "templates"
OUT = ROOT / ".preview" / "mail"
NOT_LOCALES = {"pages", "console"}  # web pages and the console's assets, not emails
# What the settings need to load; rendering itself makes no AWS call.
ENVIRONMENT = {
    "TABLE_NAME": "magiclink-preview",
    "CREDENTIALS_SECRET_ID": "magiclink/preview/credentials",
    "TOKEN_KEY_SECRET_ID": "magiclink/preview/token-key",
    "PROJECT_NAME": "Acme Docs",
}
PROJECT = ENVIRONMENT["PROJECT_NAME"]
BASE_URL = "https://auth.acme-docs.example"
NAMES = {"en": "Ada Lovelace", "es": "Lucía Fernández", "fr": "Élodie Durand", "pt-br": "João Silva"}
INVITER = "Grace from Acme"  # who invited the reader, as the invite request names them
CODE = "482913"  # the one-time code the link emails carry
CODE_MINUTES = 10  # its lifetime: CodeLifetimeMinutes' default (the link's own, when shorter)


class MissingSample(Exception):
    pass


def samples(locale: str) -> dict[str, dict[str, Any]]:
    """Each template's context, as the service passes it (`minutes` becomes `expires_in`, `code_minutes`
    `code_expires_in`); the link emails carry a one-time code, as every emailed link does."""
    name = NAMES.get(locale, NAMES["en"])
    token = "dGhpcy1pcy1hLXNhbXBsZS10b2tlbi1mb3ItdGhlLXByZXZpZXctb25seQ"
    link = f"{BASE_URL}/v1/magic_links/redirect?token={token}"
    grant = f"{BASE_URL}/v1/access_requests/grant?email=grace.hopper%40example.org&expires=1767225600&sig=c2FtcGxl"
    return {
        "invite": {
            "project": PROJECT,
            "name": name,
            "inviter": INVITER,
            "link": link,
            "minutes": 3 * 1440,
            "reusable": False,
            "code": CODE,
            "code_minutes": CODE_MINUTES,
        },
        "login": {
            "project": PROJECT,
            "name": name,
            "inviter": INVITER,
            "link": link,
            "minutes": 60,
            "reusable": False,
            "code": CODE,
            "code_minutes": CODE_MINUTES,
        },
        "access_request": {
            "project": PROJECT,
            "requester": "grace.hopper@example.org",
            "link": grant,
            "minutes": 10080,
        },
        "revoked": {"project": PROJECT, "name": name},
    }


def template_ids(templates: Path = TEMPLATES) -> list[str]:
    """Every email template, as the English folder has them (every template has an English version)."""
    return sorted(p.name.removesuffix(".html") for p in (templates / "en").glob("*.html"))


def locales(templates: Path = TEMPLATES) -> list[str]:
    found = [p.name for p in templates.iterdir() if p.is_dir() and p.name not in NOT_LOCALES]
    return sorted(found, key=lambda name: (name != "en", name))


@dataclass(frozen=True)
class Preview:
    locale: str
    template_id: str
    subject: str
    translated: bool  # False: the locale has no such template and the reader gets the English one


def check_samples(templates: Path = TEMPLATES) -> None:
    missing = [t for t in template_ids(templates) if t not in samples("en")]
    if missing:
        raise MissingSample(
            f"no sample data for template {', '.join(missing)}: add its context to samples() in local/preview_mail.py"
        )


def build(out: Path) -> Path:
    """Render everything into `out`; returns the index.html written."""
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    from magiclink import mailer

    check_samples()
    previews: list[Preview] = []
    for locale in locales():
        contexts = samples(locale)
        folder = out / locale
        folder.mkdir(parents=True, exist_ok=True)
        for template_id in template_ids():
            try:
                rendered = mailer.render(template_id, locale, **contexts[template_id])
            except Exception as exc:
                raise RuntimeError(f"{locale}/{template_id} does not render with its sample data: {exc!r}") from exc
            (folder / f"{template_id}.html").write_text(rendered.html, encoding="utf-8")
            (folder / f"{template_id}.txt").write_text(rendered.text, encoding="utf-8")
            translated = mailer.template_exists(template_id, locale)
            previews.append(Preview(locale, template_id, rendered.subject, translated))
    index = out / "index.html"
    index.write_text(_index(previews), encoding="utf-8")
    return index


def _index(previews: list[Preview]) -> str:
    ids = sorted({p.template_id for p in previews})
    found_locales = list(dict.fromkeys(p.locale for p in previews))
    by_key = {(p.template_id, p.locale): p for p in previews}
    head = "".join(f"<th>{html.escape(locale)}</th>" for locale in found_locales)
    rows = []
    for template_id in ids:
        cells = []
        for locale in found_locales:
            p = by_key[(template_id, locale)]
            base = f"{html.escape(locale)}/{html.escape(template_id)}"
            note = "" if p.translated else '<br><small class="fallback">no translation: sent in English</small>'
            cells.append(
                f'<td><span class="subject">{html.escape(p.subject)}</span>{note}<br>'
                f'<a href="{base}.html">HTML</a> · <a href="{base}.txt">text</a></td>'
            )
        rows.append(f"<tr><th>{html.escape(template_id)}</th>{''.join(cells)}</tr>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Email templates</title>'
        "<style>body{margin:24px;font:14px/1.45 system-ui,sans-serif;color:#1f2328}"
        "table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:8px 12px;text-align:left;"
        "vertical-align:top}thead th{background:#f6f8fa}.subject{font-weight:600}.fallback{color:#9a6700}"
        "a{color:#0969da}</style></head><body>"
        f"<h1>Email templates</h1><p>Every template in every locale, rendered with sample data for "
        f"{html.escape(PROJECT)} by <code>make preview-mail</code>.</p>"
        f"<table><thead><tr><th>Template</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</body></html>\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make preview-mail", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    os.environ.update(ENVIRONMENT)
    try:
        index = build(args.out.resolve())
    except MissingSample as exc:
        raise SystemExit(f"preview-mail: {exc}") from None
    print(index)


if __name__ == "__main__":
    main()
