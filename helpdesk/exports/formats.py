"""Rows out as CSV, streamed: one row in memory at a time, every value made safe.

A spreadsheet runs a cell starting with `=`, `+`, `-` or `@` (and tab or carriage return,
which some strip first) as a formula: an exported ticket subject "=HYPERLINK(...)" must
not become a live link in a manager's spreadsheet (CSV injection). `neutralise` prefixes
such a text with an apostrophe, which spreadsheets show as text; numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The value as it may go into a spreadsheet cell: text that a spreadsheet would run
    as a formula gets a leading apostrophe; numbers, dates and None pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell_text(value: Any) -> str:
    """A value as CSV text: None empty, times in ISO 8601, booleans yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(neutralise(value) if isinstance(value, str) else value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text, one line at a time: a byte-order mark (so spreadsheets read UTF-8),
    the header, then each row."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([cell_text(h) for h in header])
    for row in rows:
        yield writer.writerow([cell_text(v) for v in row])


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV download (rows should come from `.iterator()` to keep memory flat)."""
    response = StreamingHttpResponse(
        (line.encode() for line in csv_lines(header, rows)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
