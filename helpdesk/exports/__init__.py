"""Exports: queues, search results, reports and the audit log as CSV or XLSX.

- `formats`: rows as a CSV stream (constant memory), values a spreadsheet would run as
  formulas neutralised; `writers`: the same to a file, CSV or XLSX (XlsxWriter's
  `constant_memory` mode).
- `registry`: what can be exported. A source is registered by name with a builder,
  `builder(user, params) -> Table`, which reads only what `user` may see (their
  selectors) and is rebuilt from the JSON `params` wherever the export runs (the
  request, or a Celery job later).
- `services.export_start`: counts the rows (bounded), writes the ExportJob row and the
  audit entry (`export.created`: kind, format, filters, rows) in one transaction; at most
  EXPORT_SYNC_MAX_ROWS rows are streamed in the response, more are written by
  `export_job_run_task` to the default storage (`exports/`, never served directly),
  then the agent gets an in-panel alert and a mail with the panel's download link
  (`panel:export_download`, the requester only). Files expire after EXPORT_EXPIRY_HOURS;
  the `purge_exports` cron job deletes them and their rows.

Using it from a page (the panel's queues do this in helpdesk/panel/exports.py)::

    from helpdesk import exports
    from helpdesk.exports.registry import Table, chunked, rows_table

    # once, in an AppConfig.ready():
    exports.register("reports.agents", lambda user, params: rows_table(
        name="agents", header=["Agent", "Closed"], rows=agent_rows(user, params),
        detail={"period": params["period"]}))
    # in the view (POST):
    return exports.respond(request, kind="reports.agents", params={"period": "30d"},
                           format="csv", back=request.get_full_path())

or, for rows read already (always streamed at once, audited the same way)::

    return exports.respond(request, name="agents", header=["Agent", "Closed"],
                           rows=rows, format="xlsx", audit_detail={"period": "30d"})

A large source returns `Table(name=..., header=..., rows=lambda: chunked(queryset, row),
count=lambda cap: <count of at most cap + 1 rows>, detail={...filters...})`.
`respond` raises `ExportError` for an unknown source or format: answer 400.
"""

from typing import Any


def register(kind: str, builder: Any) -> None:
    """Add an export source (see the module docstring)."""
    from .registry import register as _register

    _register(kind, builder)


def respond(request: Any, **kwargs: Any) -> Any:
    """Export for the signed-in agent: the file now, or a job (see http.respond)."""
    from .http import respond as _respond

    return _respond(request, **kwargs)
