"""Link lifetimes read naturally in every email language: plurals, and the right conjunction."""

from __future__ import annotations

import pytest

from magiclink.durations import describe

DAY = 1440
HOUR = 60


@pytest.mark.parametrize(
    ("minutes", "locale", "said"),
    [
        # English
        (1, "en", "1 minute"),
        (45, "en", "45 minutes"),
        (HOUR, "en", "1 hour"),
        (2 * HOUR, "en", "2 hours"),
        (DAY, "en", "1 day"),
        (7 * DAY, "en", "7 days"),
        (HOUR + 1, "en", "1 hour and 1 minute"),
        (DAY + 3 * HOUR, "en", "1 day and 3 hours"),
        (2 * DAY + 30, "en", "2 days and 30 minutes"),
        (DAY + 2 * HOUR + 5, "en", "1 day, 2 hours and 5 minutes"),
        # Spanish
        (1, "es", "1 minuto"),
        (45, "es", "45 minutos"),
        (HOUR, "es", "1 hora"),
        (2 * HOUR, "es", "2 horas"),
        (DAY, "es", "1 día"),
        (7 * DAY, "es", "7 días"),
        (HOUR + 1, "es", "1 hora y 1 minuto"),
        (DAY + 3 * HOUR, "es", "1 día y 3 horas"),
        (DAY + 2 * HOUR + 5, "es", "1 día, 2 horas y 5 minutos"),
        # French
        (1, "fr", "1 minute"),
        (45, "fr", "45 minutes"),
        (HOUR, "fr", "1 heure"),
        (2 * HOUR, "fr", "2 heures"),
        (DAY, "fr", "1 jour"),
        (7 * DAY, "fr", "7 jours"),
        (HOUR + 1, "fr", "1 heure et 1 minute"),
        (DAY + 3 * HOUR, "fr", "1 jour et 3 heures"),
        (DAY + 2 * HOUR + 5, "fr", "1 jour, 2 heures et 5 minutes"),
        # Brazilian Portuguese
        (1, "pt-br", "1 minuto"),
        (45, "pt-br", "45 minutos"),
        (HOUR, "pt-br", "1 hora"),
        (2 * HOUR, "pt-br", "2 horas"),
        (DAY, "pt-br", "1 dia"),
        (7 * DAY, "pt-br", "7 dias"),
        (HOUR + 1, "pt-br", "1 hora e 1 minuto"),
        (DAY + 3 * HOUR, "pt-br", "1 dia e 3 horas"),
        (DAY + 2 * HOUR + 5, "pt-br", "1 dia, 2 horas e 5 minutos"),
    ],
)
def test_durations_read_naturally(minutes, locale, said):
    assert describe(minutes, locale) == said


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("pt-BR", "2 dias e 1 hora"),
        ("PT_br", "2 dias e 1 hora"),
        (" FR ", "2 jours et 1 heure"),
        ("es-MX", "2 días y 1 hora"),
    ],
)
def test_locale_tags_are_matched_loosely(locale, said):
    assert describe(2 * DAY + HOUR, locale) == said


@pytest.mark.parametrize("locale", ["de", "pt", "pt-pt", "", "xx-yy"])
def test_an_unknown_locale_is_english(locale):
    assert describe(2 * DAY + HOUR, locale) == "2 days and 1 hour"


@pytest.mark.parametrize(
    ("locale", "said"), [("en", "0 minutes"), ("es", "0 minutos"), ("fr", "0 minute"), ("pt-br", "0 minutos")]
)
def test_zero_is_still_a_duration(locale, said):
    assert describe(0, locale) == said


def test_a_negative_duration_is_refused():
    with pytest.raises(ValueError):
        describe(-1, "en")
