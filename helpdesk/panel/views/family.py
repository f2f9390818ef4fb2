"""A ticket's relatives: detaching a merged (or linked) child, and a new ticket from one
thread entry (split). Merging itself is an action of the ticket view (tickets.py)."""

from django.contrib import messages
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.services import user_get_or_create_by_email
from threads.models import ThreadEntry
from tickets import services
from tickets.services.split import default_requester

from ..access import agent_of, agent_required
from ..forms import SplitForm, UnmergeForm, narrow_pickers
from ..http import attempt
from .common import go, invalid_status, page, ticket_or_404
from .tickets import PANEL, carry_out, render_ticket, ticket_url


@agent_required
@require_POST
def ticket_unmerge(request, number):
    """Detach this ticket from its parent; answers with the page it was asked from (the
    child's, or the parent's list of merged tickets: `back`)."""
    ticket = ticket_or_404(request, number)
    form = UnmergeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:  # messages: ErrorList turns its ValidationErrors into them
                messages.error(request, error)  # type: ignore[arg-type]  # (not the stubs)
        return render_ticket(request, ticket, status=invalid_status(form))
    d = form.cleaned_data
    return carry_out(
        request,
        ticket,
        lambda: services.ticket_unmerge(
            actor=agent_of(request),
            ticket=ticket,
            status=d["status"],
            channel=PANEL,
            expected_version=d.get("version") or None,
        ),
        _("Ticket #%s is on its own again.") % ticket.number,
    )


def _entry_or_404(ticket, entry_id) -> ThreadEntry:
    entry = ThreadEntry.objects.filter(pk=entry_id, thread_id=ticket.thread_id).first()
    if entry is None:
        raise Http404
    return entry


@agent_required
@require_http_methods(["GET", "POST"])
def ticket_split(request, number, entry_id):
    """GET the form (subject, requester, department...), POST it: the new ticket opens."""
    ticket = ticket_or_404(request, number)
    entry = _entry_or_404(ticket, entry_id)
    initial = {
        "subject": ticket.subject,
        "email": default_requester(entry, ticket).email,
        "department": ticket.department_id,
        "autorespond": True,
    }
    form = SplitForm(request.POST if request.method == "POST" else None, initial=initial)
    narrow_pickers(form, request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = attempt(request, lambda: _split(request, ticket, entry, form), form=form)
            if outcome.ok:
                new = outcome.value
                messages.success(
                    request, _("Ticket #%(new)s opened from this entry.") % {"new": new.number}
                )
                return go(request, reverse("panel:ticket", args=[new.number]))
            status = outcome.status
        else:
            status = invalid_status(form)
    ctx = {"ticket": ticket, "entry": entry, "form": form, "back": ticket_url(ticket)}
    return page(request, "staff/ticket_split.html", ctx, status=status)


def _split(request, ticket, entry, form):
    d = form.cleaned_data
    requester = user_get_or_create_by_email(actor=agent_of(request), email=d["email"])[0]
    return services.ticket_split(
        actor=agent_of(request),
        ticket=ticket,
        entry=entry,
        subject=d["subject"],
        requester=requester,
        department=d["department"],
        topic=d["topic"],
        priority=d["priority"],
        autorespond=d["autorespond"],
        channel=PANEL,
    )
