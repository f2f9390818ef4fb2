"""osTicket's thread entry actions on a ticket: edit (or edit and resend a response),
the edit history, resend a response, and the email headers of an entry that came by
mail; on a task, edit and history of its updates alike (one view for both kinds). Who
may edit is decided by tickets.services.entry_edits; a refusal is the panel's refusal
page (access.agent_required). Creating a ticket or a task from an
entry are family.ticket_split and ticket_tasks.ticket_task_new."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.errors import Conflict, NotVisible
from threads.models import ThreadEntry
from tickets import services
from tickets.models import Task

from ..access import agent_of, agent_required, refusal_page
from ..http import attempt
from .common import go, page, ticket_or_404
from .tasks import TASK
from .tickets import PANEL, TICKET, carry_out, ticket_url
from .work import Kind


class EntryEditForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=255, required=False)
    body = forms.CharField(
        label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 10}), max_length=100_000
    )


def _ticket_and_entry(request, number, entry_id):
    ticket = ticket_or_404(request, number)
    try:
        return ticket, services.entry_of(ticket, entry_id)
    except NotVisible:
        raise Http404("Entry not found.") from None


def _work_and_entry(kind: Kind, request, number, entry_id):
    """The ticket or task the agent sees (404 else) and one entry of its thread."""
    work = kind.get(request, number)
    try:
        return work, services.entry_of(work, entry_id)
    except NotVisible:
        raise Http404("Entry not found.") from None


def _require_editor(request, work, entry) -> None:
    """The refusal page (naming thread.edit) unless the agent may edit this entry."""
    refusal = services.entry_edit_refusal(request.user, work, entry)
    if refusal is not None:
        raise refusal


def _heading(work) -> str:
    """The back link's text: "#123 Subject" or "Task #4 Title"."""
    if isinstance(work, Task):
        return _("Task #%(number)s %(title)s") % {"number": work.number, "title": work.title}
    return f"#{work.number} {work.subject}"


def _edit(kind: Kind, request, work, entry, d) -> object:
    """The one service call of an edit (a ticket's response: edit and resend)."""
    common = {"actor": agent_of(request), "entry": entry, "body": d["body"], "channel": PANEL}
    if isinstance(work, Task):
        return services.task_entry_edit(task=work, title=d.get("title"), **common)
    resend = entry.kind == ThreadEntry.Kind.RESPONSE
    return services.ticket_entry_edit(ticket=work, title=d.get("title"), resend=resend, **common)


def _edit_view(kind: Kind, request, number, entry_id):
    """GET the form with the entry's text; POST it: the entry takes the new text and
    keeps the old one in its history. A ticket's response is edited and resent in one
    step."""
    work, entry = _work_and_entry(kind, request, number, entry_id)
    _require_editor(request, work, entry)
    if entry.is_system:
        refusal = Conflict(_("System entries cannot be edited."), code="entry_not_editable")
        return refusal_page(request, refusal, status=409)
    is_html = entry.format == ThreadEntry.Format.HTML
    initial = {"title": entry.title, "body": entry.body_html if is_html else entry.body_text}
    form = EntryEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if entry.kind != ThreadEntry.Kind.NOTE:
        del form.fields["title"]
    resend = entry.kind == ThreadEntry.Kind.RESPONSE and kind is TICKET
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            outcome = attempt(request, lambda: _edit(kind, request, work, entry, d), form=form)
            if outcome.ok:
                text = _("Response corrected and sent again.") if resend else _("Entry edited.")
                messages.success(request, text)
                return go(request, f"{kind.url(work)}#entry-{entry.pk}")
            status = outcome.status
        else:
            status = 422
    ctx = {
        "work": work,
        "heading": _heading(work),
        "entry": entry,
        "form": form,
        "resend": resend,
        "back": kind.url(work),
    }
    return page(request, "staff/entry_edit.html", ctx, status=status)


def _history_view(kind: Kind, request, number, entry_id):
    """The entry's earlier texts, newest first, then the current one."""
    work, entry = _work_and_entry(kind, request, number, entry_id)
    _require_editor(request, work, entry)
    revisions = list(entry.revisions.select_related("written_by").order_by("-replaced_at", "-pk"))
    ctx = {
        "work": work,
        "heading": _heading(work),
        "entry": entry,
        "revisions": revisions,
        "back": kind.url(work),
    }
    return page(request, "staff/entry_history.html", ctx)


@agent_required
@require_http_methods(["GET", "POST"])
def entry_edit(request, number, entry_id):
    """Edit an entry of a ticket's thread (edit and resend a response)."""
    return _edit_view(TICKET, request, number, entry_id)


@agent_required
@require_GET
def entry_history(request, number, entry_id):
    return _history_view(TICKET, request, number, entry_id)


@agent_required
@require_http_methods(["GET", "POST"])
def task_entry_edit(request, number, entry_id):
    """Edit an update of a task's thread (the same rule as a ticket's entries)."""
    return _edit_view(TASK, request, number, entry_id)


@agent_required
@require_GET
def task_entry_history(request, number, entry_id):
    return _history_view(TASK, request, number, entry_id)


@agent_required
@require_POST
def entry_resend(request, number, entry_id):
    """Mail a response to its recipients again (needs ticket.reply)."""
    ticket, entry = _ticket_and_entry(request, number, entry_id)
    return carry_out(
        request,
        ticket,
        lambda: services.ticket_entry_resend(
            actor=agent_of(request), ticket=ticket, entry=entry, channel=PANEL
        ),
        _("Response sent again."),
    )


@agent_required
@require_GET
def entry_headers(request, number, entry_id):
    """The raw headers of an entry that came by mail (agents who see the ticket only:
    the portal never shows them)."""
    ticket, entry = _ticket_and_entry(request, number, entry_id)
    ctx = {"ticket": ticket, "entry": entry, "back": ticket_url(ticket)}
    return page(request, "staff/entry_headers.html", ctx)
