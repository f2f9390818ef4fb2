"""Reports (/scp/reports/): osTicket's dashboard figures for a period, by department,
help topic, agent or team, with charts and an accessible table beside each, and the
table as CSV. Every filter is in the query string, so a report can be bookmarked."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET

from helpdesk import exports
from helpdesk.exports.registry import ExportError
from helpdesk.params import DayField, IdField, QueryForm
from helpdesk.reports import figures, table

from ..access import agent_required
from .common import page

PERIODS = ("7", "30", "90", "365", "custom")
MAX_DAYS = 731


class ReportParams(QueryForm):
    # the form's own fields: "All yours" sends department=, and the dates go along
    # (filled in) whatever the period
    blank_ok = frozenset({"department", "start", "end"})
    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        choices=[(p, p) for p in PERIODS],
        required=False,
    )
    start = DayField(label=pgettext_lazy("date range", "From"))
    end = DayField(label=pgettext_lazy("date range", "To"))
    granularity = forms.ChoiceField(
        label=gettext_lazy("Granularity"),
        choices=[(g, g) for g in figures.GRANULARITIES],
        required=False,
    )
    dimension = forms.ChoiceField(
        label=gettext_lazy("By"), choices=[(d, d) for d in figures.DIMENSIONS], required=False
    )
    department = IdField(label=gettext_lazy("Department"))

    def __init__(self, query, *, departments, **kwargs):
        super().__init__(query, **kwargs)
        self.department_ids = {d.pk for d in departments}

    def clean(self):
        cleaned = super().clean()
        dept = cleaned.get("department")
        if dept is not None and dept not in self.department_ids:
            self._refuse("department", _("Not one of the departments you may see."))
        start, end = cleaned.get("start"), cleaned.get("end")
        if cleaned.get("period") == "custom":
            if start is None or end is None:
                self._refuse("start", _("A custom period needs a start and an end."))
            elif start > end:
                self._refuse("end", _("The end comes before the start."))
            elif (end - start).days >= MAX_DAYS:
                self._refuse("end", _("A report covers at most %(n)s days.") % {"n": MAX_DAYS})
        return cleaned


DEFAULTS = {"period": "30", "granularity": "day", "dimension": "department"}


def params_of(form: ReportParams, valid: bool) -> figures.Params:
    data = {k: v for k, v in (form.cleaned_data if valid else {}).items() if v not in (None, "")}
    values = {**DEFAULTS, **data}
    today = timezone.now().astimezone(dt.UTC).date()
    if values["period"] == "custom":
        start, end = values["start"], values["end"]
    else:
        end = today
        start = today - dt.timedelta(days=int(values["period"]) - 1)
    return figures.Params(
        start=start,
        end=end,
        granularity=values["granularity"],
        dimension=values["dimension"],
        department_id=values.get("department"),
    )


def _report(request):
    departments = figures.departments_for(request.user)
    form = ReportParams(request.GET, departments=departments)
    valid = form.is_valid()
    params = params_of(form, valid)
    report = figures.report_for(viewer=request.user, params=params)
    return form, valid, params, report, departments


def _context(request) -> tuple[dict, bool, figures.Params, figures.Report]:
    form, valid, params, report, departments = _report(request)
    ctx = {
        "report": report,
        "params": params,
        "period": (form.cleaned_data.get("period") if valid else None) or DEFAULTS["period"],
        "periods": PERIODS,
        "granularities": figures.GRANULARITIES,
        "dimensions": list(table.DIMENSION_LABELS.items()),
        "departments": departments,
        "header": table.header(report),
        "rows": [table.displayed(table.cells(r)) for r in report.rows],
        "series": [
            [s["bucket"].isoformat(), *table.displayed([s["opened"], s["closed"], s["backlog"]])]
            for s in report.series
        ],
        "chart_data": table.chart_data(report),
        "query_errors": [] if valid else form.problems(),
        "export_query": request.GET.urlencode(),
    }
    return ctx, valid, params, report


@agent_required
@require_GET
def reports_view(request):
    ctx, valid, _, _ = _context(request)
    return page(request, "staff/reports.html", ctx, status=200 if valid else 400)


@agent_required
@require_GET
def reports_export(request):
    """The report's table as CSV or XLSX (`?format=`), through the exports' one path
    (helpdesk.exports.respond: streamed, formulas neutralised, audited)."""
    ctx, valid, params, report = _context(request)
    if not valid:
        return page(request, "staff/reports.html", ctx, status=400)
    fmt = request.GET.get("format", "csv")
    try:
        return exports.respond(
            request,
            format=fmt,
            name=f"report-{report.dimension}-{params.start.isoformat()}-{params.end.isoformat()}",
            header=table.header(report),
            rows=[table.cells(r) for r in report.rows],
            audit_detail={
                "report": report.dimension,
                "from": params.start.isoformat(),
                "to": params.end.isoformat(),
                "department": params.department_id or "all",
            },
        )
    except ExportError as exc:
        ctx["query_errors"] = [str(exc)]
        return page(request, "staff/reports.html", ctx, status=400)
