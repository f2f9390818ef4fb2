"""The report's table as plain cells: what the page shows beside its charts and what
its CSV export holds, from one place."""

from django.utils import formats
from django.utils.translation import gettext as _

from .figures import Report, Row


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


DIMENSION_LABELS = {
    "department": lambda: _("Department"),
    "topic": lambda: _("Help topic"),
    "agent": lambda: _("Agent"),
    "team": lambda: _("Team"),
}


def header(report: Report) -> list[str]:
    return [
        DIMENSION_LABELS[report.dimension](),
        _("Opened"),
        _("Assigned"),
        _("Overdue"),
        _("Closed"),
        _("Reopened"),
        _("Deleted"),
        _("Service time (h)"),
        _("Response time (h)"),
        _("First response, median (h)"),
        _("First response, 90th percentile (h)"),
        _("Resolution, median (h)"),
        _("Resolution, 90th percentile (h)"),
        _("SLA compliance (%)"),
        _("Replies"),
    ]


def cells(row: Row) -> list:
    return [
        row.label,
        row.opened,
        row.assigned,
        row.overdue,
        row.closed,
        row.reopened,
        row.deleted,
        hours(row.service_time),
        hours(row.response_time),
        hours(row.first_response_p50),
        hours(row.first_response_p90),
        hours(row.resolution_p50),
        hours(row.resolution_p90),
        percent(row.sla_compliance),
        row.responses,
    ]


COLUMNS = (
    "label",
    "opened",
    "assigned",
    "overdue",
    "closed",
    "reopened",
    "deleted",
    "service_time",
    "response_time",
    "first_response_p50",
    "first_response_p90",
    "resolution_p50",
    "resolution_p90",
    "sla_compliance",
    "responses",
)


def displayed(values: list) -> list[str]:
    """Cells as the page shows them: the locale's decimal separator, a dash for none
    (formatted once here: the template's own localising of each of thousands of cells
    costs more than the figures)."""
    sep = formats.get_format("DECIMAL_SEPARATOR")
    out = []
    for v in values:
        if v is None:
            out.append("\u2013")  # an en dash
        elif isinstance(v, float):
            out.append(str(v).replace(".", sep))
        else:
            out.append(str(v))
    return out


def chart_data(report: Report) -> dict:
    """What the page's script draws (static/panel/reports.js), as JSON in the page."""
    return {
        "series": {
            "labels": [s["bucket"].isoformat() for s in report.series],
            "opened": [s["opened"] for s in report.series],
            "closed": [s["closed"] for s in report.series],
            "backlog": [s["backlog"] for s in report.series],
        },
        "channels": {
            "labels": [c["label"] for c in report.channels],
            "opened": [c["opened"] for c in report.channels],
        },
        "replies": {
            "labels": [r["label"] for r in report.replies],
            "responses": [r["responses"] for r in report.replies],
        },
        "text": {
            "opened": _("Opened"),
            "closed": _("Closed"),
            "backlog": _("Open backlog"),
            "replies": _("Replies"),
        },
    }
