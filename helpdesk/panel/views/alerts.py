"""The agent's in-panel alerts (the bell): the list, opening one (marks it read), and
"mark all read". Only the agent's own alerts about tickets and tasks they may see
(helpdesk.alerts.selectors); any other id is a 404."""

from django.contrib import messages
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk.alerts import selectors as alert_selectors
from helpdesk.alerts import services as alert_services

from ..access import agent_of, agent_required
from .common import go, page


@agent_required
@require_GET
def alerts_list(request):
    items = alert_selectors.alerts_for_list(user=request.user)
    return page(request, "staff/alerts.html", {"alerts": items})


def _target(alert) -> str:
    if alert.ticket_id:
        return reverse("panel:ticket", args=[alert.ticket.number])
    if alert.export_id:
        if alert.kind == alert.Kind.EXPORT_READY:
            return reverse("panel:export_download", args=[alert.export_id])
        return reverse("panel:exports")
    return reverse("panel:task", args=[alert.task.number])


@agent_required
@require_POST
def alert_open(request, alert_id: int):
    alert = alert_selectors.alert_get_for(user=request.user, pk=alert_id)
    if alert is None:
        raise Http404("No such alert.")
    alert_services.alert_mark_read(actor=agent_of(request), alert=alert)
    return go(request, _target(alert))


@agent_required
@require_POST
def alerts_read_all(request):
    done = alert_services.alerts_mark_all_read(actor=agent_of(request))
    if done:
        messages.success(request, _("All alerts marked read."))
    return go(request, reverse("panel:alerts"))
