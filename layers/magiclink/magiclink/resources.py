"""Where the layer's files live: the templates of emails, pages and the console (one place for every module)."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
PAGE_TEMPLATES = TEMPLATES / "pages"
CONSOLE_ASSETS = TEMPLATES / "console"
