"""A new ticket on behalf of a client (source: phone), with the topic's custom fields."""

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import has_agent_perm
from accounts.services import user_get_or_create_by_email
from tickets import services
from tickets.customfields import fields_for_topic
from tickets.models import Ticket

from .. import selectors
from ..access import agent_of, agent_required
from ..forms import NewTicketForm, custom_values, narrow_pickers, new_attachments
from ..http import attempt
from ..params import NewTicketParams
from .common import go, invalid_status, page


def _topic(request, data):
    raw = (data or {}).get("topic") or ""
    return selectors.active_topics().filter(pk=raw).first() if str(raw).isdigit() else None


def _params(request, *fields):
    """The page's query string (`user`: a client to open the ticket for; `topic`)."""
    clients = selectors.clients() if has_agent_perm(request.user, "user.dir") else None
    params = NewTicketParams(request.GET, topics=selectors.active_topics(), clients=clients)
    for name in set(params.fields) - set(fields):
        del params.fields[name]
    return params


@agent_required
@require_http_methods(["GET", "POST"])
def new_ticket(request):
    data = request.POST if request.method == "POST" else None
    initial, status, errors = {}, 200, []
    if request.method == "GET":  # the query string only fills the empty form in
        params = _params(request, "user")
        if not params.is_valid():
            status, errors = 400, params.problems()
        elif params.cleaned_data["user"] is not None:
            client = params.cleaned_data["user"]
            initial = {"email": client.email, "name": client.name}
    topic = _topic(request, data)
    form = NewTicketForm(
        data, request.FILES or None, initial=initial, custom_fields=fields_for_topic(topic)
    )
    narrow_pickers(form, request.user)
    if request.method == "POST" and "refresh" not in request.POST:
        if form.is_valid():
            outcome = attempt(request, lambda: _open(request, form), form=form)
            if outcome.ok:
                messages.success(request, _("Ticket #%s opened.") % outcome.value.number)
                return go(request, reverse("panel:ticket", args=[outcome.value.number]))
            status = outcome.status
        else:
            status = invalid_status(form)
    ctx = {"form": form, "query_errors": errors}
    return page(request, "staff/ticket_new.html", ctx, status=status)


def _open(request, form):
    d = form.cleaned_data
    requester, _created = user_get_or_create_by_email(
        actor=agent_of(request), email=d["email"], name=d["name"]
    )
    new = services.NewTicket(
        requester=requester,
        subject=d["subject"],
        body=d["body"],
        source=Ticket.Source.PHONE,
        topic=d["topic"],
        department=d["department"],
        priority=d["priority"],
        assignee=d["assignee"],
        due_at=d["due_at"],
        files=new_attachments(d["attachments"]),
        channel="panel",
        custom_fields=custom_values(form),
    )
    return services.ticket_open(actor=agent_of(request), new=new)


@agent_required
@require_GET
def new_ticket_fields(request):
    """The custom fields of the chosen help topic (htmx swaps them into the form; the
    topic menu sends `topic=` for none)."""
    params = _params(request, "topic")
    params.blank_ok = frozenset({"topic"})
    if not params.is_valid():
        ctx = {"query_errors": params.problems()}
        return render(request, "staff/_query_errors.html", ctx, status=400)
    form = NewTicketForm(custom_fields=fields_for_topic(params.cleaned_data["topic"]))
    return render(request, "staff/ticket_new/_custom_fields.html", {"form": form})
