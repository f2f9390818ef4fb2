"""A client's tickets: the list, one ticket with its public thread, replying, closing,
and attachment downloads. What is visible comes from the selectors; everything else
answers 404."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.errors import Conflict, DomainError, NotVisible
from accounts.throttle import client_ip
from helpdesk.attachments import to_attachments
from helpdesk.params import page_of
from threads.html import inline_images
from threads.models import Channel
from tickets.customfields import ticket_field_values
from tickets.models import Ticket
from tickets.permissions import CLIENT_CLOSE, CLIENT_REPLY, client_actions
from tickets.services import ticket_client_close, ticket_post_message

from ..files import file_response
from ..forms import ReplyForm, add_domain_error, issue_form_token, read_form_token
from ..models import PortalSettings
from ..params import DEFAULT_SORT, TicketListParams
from ..selectors import (
    last_public_update,
    portal_ticket_get,
    portal_tickets,
    public_attachment,
    public_entries,
)
from ..services import submit_once
from ..viewer import Viewer, client_required, ticket_viewer_required, viewer_for

PAGE_SIZE = 25


def _ticket_or_404(viewer: Viewer, number: str) -> Ticket:
    try:
        return portal_ticket_get(viewer=viewer, number=number)
    except NotVisible:
        raise Http404(_("Ticket not found.")) from None


def ticket_list(request):
    viewer = viewer_for(request)
    if viewer.link is not None:  # a guest
        return redirect("portal:ticket", number=viewer.link.ticket.number)
    return _ticket_list(request)


@client_required
def _ticket_list(request):
    """Bad `state`, `q` or `page` answer 400: the errors, above the open tickets."""
    viewer = viewer_for(request)
    params = TicketListParams(request.GET)
    valid = params.is_valid()
    state = (params.cleaned_data.get("state") if valid else None) or "open"
    text = params.cleaned_data.get("q", "") if valid else ""
    sort = (params.cleaned_data.get("sort") if valid else None) or DEFAULT_SORT
    tickets = portal_tickets(user=viewer.user, state=state, text=text, sort=sort)
    page = page_of(Paginator(tickets, PAGE_SIZE), params)
    errors = params.problems()
    ctx = {"page": page, "state": state, "q": request.GET.get("q", "")[:100], "viewer": viewer}
    ctx["sort"], ctx["columns"] = sort, _columns(sort)
    ctx["query_errors"] = errors
    return render(request, "portal/ticket_list.html", ctx, status=400 if errors else 200)


COLUMNS = [
    ("number", gettext_lazy("Ticket")),
    ("subject", gettext_lazy("Subject")),
    ("status", gettext_lazy("Status")),
    ("requester", gettext_lazy("Requester")),
    ("updated", gettext_lazy("Last update")),
]


def _columns(sort: str) -> list[dict]:
    """The list's headers: each links to sorting by it (ascending first; the other way
    when it is the current sort) and says how the list is sorted now (aria-sort)."""
    current, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for key, label in COLUMNS:
        active = key == current
        columns.append(
            {
                "label": label,
                "sort": f"-{key}" if active and not descending else key,
                "aria": ("descending" if descending else "ascending") if active else "",
            }
        )
    return columns


def _render_ticket(request, viewer, ticket, form, status=200):
    actions = client_actions(viewer.user, ticket)  # what the services would let them do
    context = {
        "ticket": ticket,
        "viewer": viewer,
        "entries": _with_inline_images(ticket, public_entries(ticket=ticket)),
        "fields": ticket_field_values(ticket, for_client=True),
        "last_update": last_public_update(ticket),
        "form": form,
        "can_reply": CLIENT_REPLY in actions,
        "can_close": CLIENT_CLOSE in actions,
        "registration_open": PortalSettings.load().registration == PortalSettings.Registration.OPEN,
    }
    return render(request, "portal/ticket_detail.html", context, status=status)


def _with_inline_images(ticket, entries):
    """Entries with `display_html`: inline images (cid: from mail) point at our URLs."""
    entries = list(entries)
    for entry in entries:
        urls = {
            a.content_id.strip("<>"): reverse(
                "portal:ticket_attachment", args=[ticket.number, a.pk, a.filename]
            )
            for a in entry.attachment_list
            if a.content_id
        }
        entry.display_html = inline_images(entry.body_html, urls)
    return entries


@ticket_viewer_required
def ticket_detail(request, number):
    viewer = viewer_for(request)
    ticket = _ticket_or_404(viewer, number)
    form = ReplyForm(
        initial={"form_token": issue_form_token(request)},
        max_files=PortalSettings.load().max_attachments,
    )
    return _render_ticket(request, viewer, ticket, form)


@ticket_viewer_required
@require_POST
def ticket_reply(request, number):
    viewer = viewer_for(request)
    ticket = _ticket_or_404(viewer, number)
    form = ReplyForm(request.POST, request.FILES, max_files=PortalSettings.load().max_attachments)
    if not form.is_valid():  # bad input (an oversized or refused file too)
        return _render_ticket(request, viewer, ticket, form, status=400)
    nonce = read_form_token(request, form.cleaned_data.get("form_token"))
    if nonce is None:
        form.add_error(None, _("This form had expired. Check it and send it again."))
        data = request.POST.copy()  # the form's data
        data["form_token"] = issue_form_token(request)
        form.data = data
        return _render_ticket(request, viewer, ticket, form)

    def action():
        posted = ticket_post_message(
            actor=viewer.actor,
            ticket=ticket,
            body=form.cleaned_data["message"],
            files=to_attachments(form.cleaned_data.get("attachments")),
            channel=Channel.PORTAL,
            ip_address=client_ip(request) or None,
        )
        return posted.ticket, posted.entry.pk

    try:
        result = submit_once(nonce=nonce, action=action)
    except Conflict as exc:
        if exc.code == "ticket_closed":
            form.add_error(
                None, _("This ticket is closed and cannot be reopened. Open a new ticket.")
            )
        else:
            add_domain_error(form, exc, {"body": "message"})
        return _render_ticket(request, viewer, ticket, form, status=exc.status)
    except NotVisible:
        raise Http404(_("Ticket not found.")) from None
    except DomainError as exc:
        add_domain_error(form, exc, {"body": "message"})
        return _render_ticket(request, viewer, ticket, form, status=400)
    if not result.duplicate:
        messages.success(request, _("Your reply was posted."))
    url = reverse("portal:ticket", kwargs={"number": ticket.number})
    return redirect(f"{url}#entry-{result.entry_id}" if result.entry_id else url)


@ticket_viewer_required
@require_POST
def ticket_close(request, number):
    viewer = viewer_for(request)
    ticket = _ticket_or_404(viewer, number)
    try:
        ticket_client_close(actor=viewer.actor, ticket=ticket, channel=Channel.PORTAL)
    except NotVisible:
        raise Http404(_("Ticket not found.")) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Ticket #%(number)s is closed.") % {"number": ticket.number})
    return redirect("portal:ticket", number=ticket.number)


@ticket_viewer_required
def ticket_attachment(request, number, pk, filename=""):
    viewer = viewer_for(request)
    ticket = _ticket_or_404(viewer, number)
    attachment = public_attachment(ticket=ticket, pk=pk)
    if attachment is None:
        raise Http404(_("File not found."))
    return file_response(attachment.file.file, attachment.filename, attachment.content_type)
