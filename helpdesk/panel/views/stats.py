"""Agents' statistics (/scp/stats/agents/), for agents with stats.agents."""

from django import forms
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from helpdesk.params import QueryForm
from helpdesk.reports.agents import agent_stats

from ..access import perm_required
from .common import page

PERIODS = (7, 30, 90, 365)


class StatsParams(QueryForm):
    days = forms.TypedChoiceField(
        label=gettext_lazy("Period"),
        choices=[(str(d), str(d)) for d in PERIODS],
        coerce=int,
        required=False,
    )


@perm_required("stats.agents")
@require_GET
def agent_stats_view(request):
    params = StatsParams(request.GET)
    valid = params.is_valid()
    days = (params.cleaned_data.get("days") if valid else None) or 30
    ctx = {
        "rows": agent_stats(viewer=request.user, days=days),
        "days": days,
        "periods": PERIODS,
        "query_errors": [] if valid else params.problems(),
    }
    return page(request, "staff/agent_stats.html", ctx, status=200 if valid else 400)
