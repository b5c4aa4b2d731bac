"""Server-rendered HTML pages (templates/pages), autoescaped; they work without JavaScript."""

from __future__ import annotations

from functools import cache

from .resources import PAGE_TEMPLATES
from .settings import get_settings


@cache
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(PAGE_TEMPLATES), autoescape=True, undefined=StrictUndefined)


def render(page: str, **context: object) -> str:
    return _environment().get_template(f"{page}.html").render(project=get_settings().project_name, **context)


def trusted(html: str) -> object:
    """Mark already-sanitised HTML as safe to insert unescaped."""
    from markupsafe import Markup

    return Markup(html)  # noqa: S704 - callers pass only nh3-sanitised HTML
