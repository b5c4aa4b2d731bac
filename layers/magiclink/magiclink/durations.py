"""A link lifetime in words, in the email's language: '1 day and 3 hours', '1 día y 3 horas', ...

Kept free of imports so the mailer can use it without paying for anything at cold start.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class _Words:
    units: tuple[tuple[str, str], ...]  # (singular, plural) for day, hour, minute
    conjunction: str  # joins the last two parts; earlier ones take a comma
    singular_zero: bool = False  # French says "0 minute", the others "0 minutes"

    def count(self, value: int, unit: int) -> str:
        singular, plural = self.units[unit]
        one = value == 1 or (self.singular_zero and value == 0)
        return f"{value} {singular if one else plural}"


_WORDS: dict[str, _Words] = {
    "en": _Words((("day", "days"), ("hour", "hours"), ("minute", "minutes")), "and"),
    "es": _Words((("día", "días"), ("hora", "horas"), ("minuto", "minutos")), "y"),
    "fr": _Words((("jour", "jours"), ("heure", "heures"), ("minute", "minutes")), "et", singular_zero=True),
    "pt-br": _Words((("dia", "dias"), ("hora", "horas"), ("minuto", "minutos")), "e"),
}


def _words(locale: str) -> _Words:
    """'pt-BR', 'pt_br' and 'es-MX' are understood; anything else falls back to English."""
    tag = (locale or "").strip().lower().replace("_", "-")
    return _WORDS.get(tag) or _WORDS.get(tag.split("-", 1)[0]) or _WORDS[DEFAULT_LOCALE]


def describe(minutes: int, locale: str) -> str:
    """`minutes` as days, hours and minutes, zero parts left out: '2 days, 3 hours and 5 minutes'."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    words = _words(locale)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [words.count(value, unit) for unit, value in enumerate((days, hours, mins)) if value]
    if not parts:
        return words.count(0, 2)
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {words.conjunction} {parts[-1]}"
