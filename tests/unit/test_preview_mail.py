"""`make preview-mail`: every template in every locale rendered, each file carrying its link (and code)."""

from __future__ import annotations

import html
import subprocess
import sys

import pytest

from local import preview_mail
from local.cfn import ROOT

TEMPLATES = ROOT / "layers" / "magiclink" / "magiclink" / "templates"


def test_every_template_in_every_locale_is_rendered_with_its_link(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "local.preview_mail", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    index = tmp_path / "index.html"
    assert done.stdout.strip() == str(index)
    listing = index.read_text()

    template_ids = sorted(p.name.removesuffix(".html") for p in (TEMPLATES / "en").glob("*.html"))
    locales = sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir() and p.name not in ("pages", "console"))
    assert {"invite", "login", "access_request", "revoked"} <= set(template_ids)
    assert {"en", "es", "fr", "pt-br"} <= set(locales)
    for locale in locales:
        for template_id, context in preview_mail.samples(locale).items():
            if template_id not in template_ids:
                continue
            page = (tmp_path / locale / f"{template_id}.html").read_text()
            text = (tmp_path / locale / f"{template_id}.txt").read_text()
            assert page.startswith("<!DOCTYPE html>") and context["project"] in text
            if "link" in context:
                assert f'href="{html.escape(context["link"])}"' in page, (locale, template_id)
                assert context["link"] in text, (locale, template_id)
            if context.get("code"):
                assert f">{context['code']}</span>" in page, (locale, template_id)
                assert context["code"] in text.splitlines(), (locale, template_id)
            assert f'href="{locale}/{template_id}.html"' in listing and f'href="{locale}/{template_id}.txt"' in listing
        assert f'lang="{locale}"' in (tmp_path / locale / "invite.html").read_text().lower()
    assert "Grace from Acme invited you to Acme Docs" in listing
    assert "Grace from Acme invited you to Acme Docs." in (tmp_path / "en" / "invite.txt").read_text()
    assert {t for t, c in preview_mail.samples("en").items() if c.get("code")} == {"invite", "login"}
    assert "It works for 10 minutes, once." in (tmp_path / "en" / "login.txt").read_text()


def test_a_template_without_sample_data_fails_loudly(tmp_path):
    (tmp_path / "en").mkdir()
    for name in ("invite.html", "farewell.html", "farewell.txt", "farewell.subject.txt"):
        (tmp_path / "en" / name).write_text("x")
    with pytest.raises(preview_mail.MissingSample, match="farewell"):
        preview_mail.check_samples(tmp_path)
