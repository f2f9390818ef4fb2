"""helpdesk.display.format_local writes what Django's `dateformat.format` writes (the
`date` filter), in every language of the panel, in zones with and without summer time,
at midnight, noon and the hours around a clock change, for the panel's formats and one
with every format character, the first time and from its kept texts."""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import dateformat, translation
from django.utils.formats import get_format

from helpdesk import display

EVERY = r"a A b c d D e E f F g G h H i I j l L m M n N o O P r s S t T U u w W y Y z Z \a\t \\P"
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


def moments():
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for day in (0, 31, 59, 87, 88, 120, 181, 300, 305, 364):
        for minutes in (0, 1, 59, 60 * 12, 60 * 12 + 30, 60 * 23 + 59, 60 * 2 + 30):
            yield base + dt.timedelta(days=day, minutes=minutes, seconds=17, microseconds=5)


def test_format_local_is_djangos_date_format():
    display._TEXTS.clear()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            formats = {get_format("SHORT_DATETIME_FORMAT"), get_format("DATETIME_FORMAT"), EVERY}
            for zone in ZONES:
                tz = zoneinfo.ZoneInfo(zone)
                for moment in moments():
                    at = moment.astimezone(tz)
                    for fmt in formats:
                        expected = dateformat.format(at, fmt)
                        assert display.format_local(at, fmt) == expected, (code, zone, at, fmt)
                        assert display.format_local(at, fmt) == expected  # from the kept texts


def test_the_kept_texts_are_bounded(monkeypatch):
    monkeypatch.setattr(display, "_TEXTS_MAX", 5)
    at = dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC)
    for day in range(20):
        display.format_local(at + dt.timedelta(days=day), "m/d/Y P")
    assert len(display._TEXTS) <= 5
