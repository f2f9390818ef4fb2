"""The response of an export: the file now (few rows), or back to the page with a
message that a job will write it (many rows)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .formats import csv_response
from .registry import Table
from .services import export_start
from .writers import CONTENT_TYPES, write_xlsx


class _TemporaryFile:
    """A file opened for reading whose path is deleted when it is closed (the response
    closes it after the last byte)."""

    def __init__(self, path: str):
        self.path = path
        self.file = open(path, "rb")  # noqa: SIM115 (closed by the response)

    def read(self, *args):
        return self.file.read(*args)

    def close(self) -> None:
        self.file.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def stream(table: Table, *, format: str, filename: str) -> HttpResponse:
    """The export as a download: CSV streamed row by row; XLSX written to a temporary
    file in constant memory, then streamed from it."""
    if format == "csv":
        return csv_response(filename, table.header, table.rows())
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(path, table.header, table.rows())
    except BaseException:
        os.unlink(path)
        raise
    return FileResponse(
        _TemporaryFile(path),
        as_attachment=True,
        filename=filename,
        content_type=CONTENT_TYPES[format],
    )


def respond(
    request: HttpRequest, *, kind: str, params: dict[str, Any], format: str, back: str
) -> HttpResponse:
    """Export the registered source `kind` for the signed-in agent: the file itself, or
    (over EXPORT_SYNC_MAX_ROWS rows) a redirect to `back` saying that the file is being
    written and the bell will say when it is ready. Raises ExportError for an unknown
    source or format (the caller answers 400)."""
    started = export_start(actor=request.user, kind=kind, params=params, format=format)
    if started.table is not None:
        return stream(started.table, format=format, filename=started.job.download_name)
    messages.info(
        request,
        _(
            "This export has many rows: it is being written, and you will be alerted (and "
            "mailed a link) when it is ready to download."
        ),
    )
    return redirect(back)
