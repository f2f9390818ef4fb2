"""A ticket's tasks, from the ticket view: a new task (from the Tasks section, or from
one thread entry as osTicket's "Create task"), and closing one inline. Both answer
like the ticket's other actions (views/tickets.py: the ticket, refreshed or with the
refusal)."""

from django.http import Http404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tickets import services
from tickets.models import Ticket
from tickets.services.tasks import task_fields

from ..access import agent_of, agent_required
from ..forms import narrow_pickers
from ..http import attempt
from ..task_forms import NewTaskParams, TaskForm
from ..task_selectors import entry_of
from .common import page, ticket_or_404
from .task_queues import create_task
from .tasks import task_or_404
from .tickets import PANEL, _after, carry_out, render_ticket
from .work import posted_version

OPEN_PANEL = "task"  # the Tasks section's form, as render_ticket's bound forms name it


def _first_line(text: str, limit: int = 80) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@agent_required
@require_http_methods(["GET", "POST"])
def ticket_task_new(request, number):
    """GET the form (`?entry=` one of the ticket's entries to start from), POST it."""
    ticket = ticket_or_404(request, number)
    if request.method == "POST":
        return _create(request, ticket)
    params = NewTaskParams(request.GET, entry_of=lambda pk: entry_of(ticket, pk))
    valid = params.is_valid()
    entry = params.cleaned_data.get("entry") if valid else None
    initial = {}
    if entry is not None:
        initial = {"entry": entry.pk, "title": entry.title or _first_line(entry.body_text)}
    form = TaskForm(auto_id="task-%s", initial=initial, custom_fields=task_fields())
    narrow_pickers(form, request.user)
    ctx = {"ticket": ticket, "form": form, "entry": entry}
    if not valid:
        ctx["query_errors"] = params.problems()
        return page(request, "staff/ticket_task_new.html", ctx, status=400)
    if request.htmx:
        return page(
            request, "staff/ticket_task_new.html", ctx, partial="staff/ticket/_task_form.html"
        )
    return page(request, "staff/ticket_task_new.html", ctx)


def _create(request, ticket: Ticket):
    form = TaskForm(request.POST, request.FILES, auto_id="task-%s", custom_fields=task_fields())
    narrow_pickers(form, request.user)
    valid = form.is_valid()
    entry = None
    if valid and form.cleaned_data["entry"] is not None:
        entry = entry_of(ticket, form.cleaned_data["entry"])
        if entry is None:
            form.add_error(None, _("No such entry on this ticket."))
            valid = False
    if not valid:
        status = 400 if "attachments" in form.errors else 422
        return render_ticket(
            request, ticket, bound={OPEN_PANEL: form}, status=status, open_panel=OPEN_PANEL
        )
    outcome = attempt(
        request, lambda: create_task(request, form, ticket=ticket, entry=entry), form=form
    )
    if not outcome.ok:
        fresh = ticket_or_404(request, ticket.number)
        return render_ticket(
            request, fresh, bound={OPEN_PANEL: form}, status=outcome.status, open_panel=OPEN_PANEL
        )
    return _after(request, ticket, _("Task #%s created.") % outcome.value.number)


@agent_required
@require_POST
def ticket_task_close(request, number, task_number):
    """Close one of the ticket's tasks from its Tasks section."""
    ticket = ticket_or_404(request, number)
    task = task_or_404(request, task_number)
    if task.ticket_id != ticket.pk:
        raise Http404
    return carry_out(
        request,
        ticket,
        lambda: services.task_close(
            actor=agent_of(request),
            task=task,
            channel=PANEL,
            expected_version=posted_version(request),
        ),
        _("Task #%s closed.") % task.number,
    )
