"""The response of an export: the file now (few rows), or back to the page with a
message that a job will write it (many rows)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .formats import csv_response
from .registry import ExportError, Table
from .services import export_start, export_start_rows
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


def _in_language(rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The rows, made in the request's language although read after the view returned
    (a streamed response is read by the server afterwards)."""
    language = translation.get_language()
    with translation.override(language):
        yield from rows


def stream(table: Table, *, format: str, filename: str) -> HttpResponseBase:
    """The export as a download: CSV streamed row by row; XLSX written to a temporary
    file in constant memory, then streamed from it."""
    if format == "csv":
        return csv_response(filename, table.header, _in_language(table.rows()))
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


def _back(request: HttpRequest, back: str | None) -> str:
    """Where to go after a queued export: `back`, else the page the form was on."""
    target = back or request.META.get("HTTP_REFERER", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("panel:home")


def respond(
    request: HttpRequest,
    *,
    format: str,
    kind: str | None = None,
    params: dict[str, Any] | None = None,
    back: str | None = None,
    name: str | None = None,
    header: Sequence[str] | None = None,
    rows: Iterable[Sequence[Any]] | None = None,
    audit_detail: dict[str, Any] | None = None,
) -> HttpResponseBase:
    """Export for the signed-in agent, audited (`export.created`), either

    - a registered source: `kind` and its JSON `params`: the file itself, or (over
      EXPORT_SYNC_MAX_ROWS rows) a redirect to `back` (default: the page the form was on)
      saying that the file is being written and the bell will say when it is ready; or
    - rows read already: `name` (the file name), `header`, `rows` (a list, or an iterator
      from `.iterator()`), `audit_detail` (the filters, for the audit entry): always the
      file itself, streamed.

    Raises ExportError for an unknown source or format (the caller answers 400)."""
    if kind is None:
        if name is None or header is None or rows is None:
            raise ExportError("Give a source (kind) or the rows.", code="no_source")
        started = export_start_rows(
            actor=request.user,
            name=name,
            header=header,
            rows=rows,
            format=format,
            detail=audit_detail,
        )
    else:
        started = export_start(actor=request.user, kind=kind, params=params or {}, format=format)
    if started.table is not None:
        return stream(started.table, format=format, filename=started.job.download_name)
    messages.info(
        request,
        _(
            "This export has many rows: it is being written, and you will be alerted (and "
            "mailed a link) when it is ready to download."
        ),
    )
    return redirect(_back(request, back))
