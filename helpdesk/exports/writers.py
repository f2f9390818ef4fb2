"""Writing an export to a file in constant memory: CSV line by line, XLSX with
XlsxWriter's `constant_memory` mode (each row is flushed to a temporary file as soon as
the next one starts; strings are written inline, no shared-string table in memory).
Values a spreadsheet would run as formulas are neutralised in both (formats.neutralise),
and XlsxWriter is told never to turn a string into a formula, a number or a link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import IO, Any

import xlsxwriter

from .formats import cell_text, csv_lines, neutralise
from .registry import ExportError

XLSX_MAX_ROWS = 1_048_576  # the sheet's limit, header included
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def write_csv(out: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write the CSV to a binary file; returns the number of rows (header not counted)."""
    lines = csv_lines(header, rows)
    out.write(next(lines).encode())
    count = 0
    for line in lines:
        out.write(line.encode())
        count += 1
    return count


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None)
    if value is None or (isinstance(value, int | float | dt.date) and not isinstance(value, bool)):
        return value
    return cell_text(value) if not isinstance(value, str) else neutralise(value)


def write_xlsx(path: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write one sheet to `path`; returns the number of rows (header not counted). Times
    are written in UTC."""
    book = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "remove_timezone": True,
        },
    )
    try:
        sheet = book.add_worksheet()
        when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        for col, label in enumerate(header):
            sheet.write_string(0, col, str(neutralise(str(label))))
        count = 0
        for count, row in enumerate(rows, start=1):
            if count >= XLSX_MAX_ROWS:
                raise ExportError(
                    "Too many rows for a spreadsheet: export as CSV.", code="too_many_rows"
                )
            for col, raw in enumerate(row):
                value = _xlsx_cell(raw)
                if value is None:
                    continue
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(count, col, value, when)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(count, col, value, day)
                elif isinstance(value, int | float):
                    sheet.write_number(count, col, value)
                else:
                    sheet.write_string(count, col, value)
        return count
    finally:
        book.close()


def write(fmt: str, path: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write the export in `fmt` ("csv" or "xlsx") to the file at `path`."""
    if fmt == "xlsx":
        return write_xlsx(path, header, rows)
    with open(path, "wb") as out:
        return write_csv(out, header, rows)
