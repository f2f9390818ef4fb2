"""Values a template reads on a model instance that the model does not hold (an entry's
body as the panel renders it, a search hit's matched sources, ...): set by the code that
prepares the page, and named where they are set."""

import datetime as dt
import html as _html
from collections.abc import Iterable
from typing import Any

from django.utils import dateformat, timezone, translation
from django.utils.formats import get_format
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

# --- dates, formatted as Django's `date` filter does, a character at a time -------------
# The panel writes two or three dates per queue row and per thread entry; Django's
# dateformat.format builds a DateFormat per value (its time zone checks alone cost more
# than the text) and translates "a.m."/"p.m." each time: 40 us a date, 16 ms of a
# 200-entry ticket page. `format_local` gives the same text (tests/panel/
# test_dates_and_countdown.py compares them across languages, formats and times), each
# date character's text kept per language and day, each time character's per language,
# hour and minute; the others (seconds, time zone) are formatted every time.
_DATE_CHARS = frozenset("bdDEFjlLmMnNoStwWyYz")
_TIME_CHARS = frozenset("aAfgGhHiP")
_FORMATS: dict[str, tuple[tuple[bool, str], ...]] = {}
_TEXTS: dict[tuple[object, ...], str] = {}
_TEXTS_MAX = 20_000  # about 50 days x 40 languages x 10 characters; cleared when full


def _pieces(fmt: str) -> tuple[tuple[bool, str], ...]:
    pieces = _FORMATS.get(fmt)
    if pieces is None:
        split = dateformat.re_formatchars.split(fmt)
        pieces = _FORMATS[fmt] = tuple(
            (True, piece) if i % 2 else (False, dateformat.re_escaped.sub(r"\1", piece))
            for i, piece in enumerate(split)
            if piece or i % 2
        )
    return pieces


def format_local(at: dt.datetime, fmt: str, language: str | None = None) -> str:
    """`dateformat.format(at, fmt)` of an aware datetime (already in the zone to show);
    `language`: the active one, when the caller has read it already."""
    language = language or translation.get_language()
    out = []
    formatter = None
    for is_char, piece in _pieces(fmt):
        if not is_char:
            out.append(piece)
            continue
        key: tuple[object, ...] | None
        if piece in _DATE_CHARS:
            key = (language, piece, at.year, at.month, at.day)
        elif piece in _TIME_CHARS:
            key = (language, piece, at.hour, at.minute)
        else:
            key = None
        text = _TEXTS.get(key) if key is not None else None
        if text is None:
            if formatter is None:
                formatter = dateformat.DateFormat(at)
            text = str(getattr(formatter, piece)())
            if key is not None:
                if len(_TEXTS) >= _TEXTS_MAX:
                    _TEXTS.clear()
                _TEXTS[key] = text
        out.append(text)
    return "".join(out)


def html_of(value: object) -> str:
    """Django's `conditional_escape` (an `__html__` value as it is, anything else
    escaped as `escape` does) without its lazy-string wrappers, which cost more than
    the escaping in pages that write hundreds of cells (tests/panel/test_html_format.py
    holds the two equal)."""
    if isinstance(value, Promise):
        value = str(value)
    to_html = getattr(value, "__html__", None)
    return to_html() if to_html is not None else _html.escape(str(value))


def html_format(template: str, *args: object) -> SafeString:
    """Django's `format_html` (positional arguments), escaping with `html_of`: for the
    rows and thread entries the panel writes in Python (panel.rows, {% thread_entry %})."""
    return SafeString(template.format(*map(html_of, args)))


def shown(obj: object, **values: object) -> None:
    """Set `values` on `obj` for the template."""
    for name, value in values.items():
        setattr(obj, name, value)


def dated(items: Iterable[Any]) -> None:
    """Set `kind_label`, `at_iso`, `at_short` and `at_title` (created_at in the active
    time zone, as the `date` filter's "c" and SHORT_DATETIME_FORMAT give it, and the
    long form with the zone for the hover, as `when_html` writes them) on thread entries
    or events: a long thread's template would otherwise translate the kind and format
    the dates once per item (about a third of a 200-entry ticket page's time). An
    assignment the agent took themselves reads "Claimed"."""
    fmt = get_format("SHORT_DATETIME_FORMAT")
    labels: dict[tuple[type, str], str] = {}
    claimed = gettext("Claimed")
    zones: dict[dt.timedelta | None, str] = {}  # zone labels by offset (summer, winter)
    # the request's zone and language read once, not once per item
    zone, language = timezone.get_current_timezone(), translation.get_language()
    for item in items:
        key = (type(item), item.kind)
        if key not in labels:
            choices = dict(item._meta.get_field("kind").flatchoices)
            labels[key] = str(choices.get(item.kind, item.kind))
        at = timezone.localtime(item.created_at, zone)
        data = getattr(item, "data", None)
        is_claim = item.kind == "assigned" and isinstance(data, dict) and data.get("claimed")
        shown(
            item,
            kind_label=claimed if is_claim else labels[key],
            at_iso=at.isoformat(),
            at_short=format_local(at, fmt, language),
            at_title=f"{at:%Y-%m-%d %H:%M} {zones.get(at.utcoffset()) or _zone(zones, at)}",
        )


# --- one date format for the panel ------------------------------------------------------
# Every date the panel shows is SHORT_DATETIME_FORMAT in the agent's time zone (activated
# per request by panel.access.agent_required), with the zone named on hover. The
# template filters in helpdesk/panel/templatetags/panel_time.py call these.


def zone_label(at: dt.datetime) -> str:
    """The zone of an aware local time as an agent reads it: "Europe/Paris (UTC+01:00)"."""
    name = timezone.get_current_timezone_name()
    offset = at.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{name} ({offset})"


def _zone(cache: dict, at: dt.datetime) -> str:
    cache[at.utcoffset()] = label = zone_label(at)
    return label


def local_parts(value: dt.datetime) -> tuple[str, str, str]:
    """(ISO 8601, the panel's short format, the long form with the zone for the hover)."""
    at = timezone.localtime(value)
    short = format_local(at, get_format("SHORT_DATETIME_FORMAT"))
    full = f"{at:%Y-%m-%d %H:%M} {zone_label(at)}"
    return at.isoformat(), short, full


def when_html(value: dt.datetime | None, *, empty: str = "") -> str:
    """`<time>` of a moment: the short local form, the zone on hover ("" for None)."""
    if value is None:
        return SafeString(html_of(empty))
    iso, short, full = local_parts(value)
    return html_format('<time datetime="{}" title="{}">{}</time>', iso, full, short)


def _span(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return ngettext("%(n)d min", "%(n)d min", minutes) % {"n": minutes}
    hours = round(minutes / 60)
    if hours < 48:
        return ngettext("%(n)d h", "%(n)d h", hours) % {"n": hours}
    days = round(hours / 24)
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def countdown(due: dt.datetime | None, *, now: dt.datetime | None = None) -> tuple[str, bool]:
    """("due in 3 h", False) or ("overdue by 2 days", True); ("", False) without a date."""
    if due is None:
        return "", False
    left = (due - (now or timezone.now())).total_seconds()
    if left >= 0:
        return gettext("due in %(span)s") % {"span": _span(left)}, False
    return gettext("overdue by %(span)s") % {"span": _span(-left)}, True


def countdown_html(due: dt.datetime | None, *, flagged: bool = False, paused: bool = False):
    """The SLA countdown of a queue row: the text, red (class "overdue") once the due
    date passed or the sweep flagged it, the date itself and its zone on hover."""
    if due is None:
        return ""
    text, late = countdown(due)
    iso, _short, full = local_parts(due)
    if paused:
        text = gettext("paused")
    css = "countdown overdue" if (late or flagged) and not paused else "countdown"
    return html_format('<time class="{}" datetime="{}" title="{}">{}</time>', css, iso, full, text)
