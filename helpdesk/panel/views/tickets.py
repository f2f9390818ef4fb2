"""The ticket view and everything done from it.

GET renders the page (or, for htmx, the `#ticket` region). Each action is a POST that
validates a form, calls one service, then answers with a redirect (Post/Redirect/Get)
or, for htmx, the refreshed region. A refusal is shown with its HTTP status.
"""

from collections.abc import Callable

from django.contrib import messages
from django.forms import Form
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import Conflict, NotVisible
from accounts.services import user_get_or_create_by_email
from helpdesk.kb.selectors import canned_list, canned_visible_to
from helpdesk.kb.services import canned_render
from helpdesk.params import query_refused
from threads.html import html_to_text, text_to_html
from threads.services import draft_delete
from tickets import services
from tickets.config import Snapshot
from tickets.customfields import fields_for_topic, ticket_field_values
from tickets.models import HelpdeskSettings, Ticket, TicketStatus
from tickets.permissions import ticket_permissions
from tickets.selectors import ticket_get_for

from .. import selectors
from ..access import agent_of, agent_required, preferences_of
from ..forms import (
    AnsweredForm,
    AssigneeForm,
    AssignForm,
    CollaboratorForm,
    DueDateForm,
    EditForm,
    FieldsForm,
    MergeForm,
    NoteForm,
    NumbersForm,
    PriorityForm,
    ReferForm,
    ReplyForm,
    SlaForm,
    StatusForm,
    TeamForm,
    TopicForm,
    TransferForm,
    all_attachments,
    custom_values,
)
from ..http import FRIENDLY, attempt
from ..params import PrintParams
from ..pickers import config_snapshot
from ..task_selectors import may_close_all, tasks_of_ticket
from .common import draft_saved, frame_ahead, lock_state, page, ticket_or_404
from .work import (
    PANEL,
    Actions,
    Kind,
    PanelRequest,
    action_view,
    after,
    attachment_view,
    button_view,
    form_version,
    invalid,
    lock_view,
    passes,
    refused,
    unlock_view,
)
from .work import carry_out as carry_out_work


def ticket_url(ticket) -> str:
    return reverse("panel:ticket", args=[ticket.number])


def _forms(request, ticket, ctx, bound: dict):
    """The reply and note forms (always on the page), and any bound action form whose
    errors must be shown. Other action forms load when their panel opens (action_form)."""
    collaborators = ctx["collaborators"]
    statuses = ctx["statuses"] if "ticket.reply" in ctx["granted"] else []
    forms = {
        "reply": ReplyForm(
            auto_id="reply-%s",
            initial={
                "version": ticket.version,
                "body": ctx["draft_reply"],
                "signature": default_signature(request.user, ticket),
                "cc": [str(c.user_id) for c in collaborators if c.is_active],
            },
            statuses=statuses,
            collaborators=collaborators,
            signatures=services.signature_choices(request.user, ticket.department),
        ),
        "note": NoteForm(auto_id="note-%s", initial={"body": ctx["draft_note"]}),
    }
    forms.update(bound)
    if "status" in forms:
        _limit_statuses(forms["status"], ctx["statuses"])
        _offer_closing_tasks(request, forms["status"], ctx["tasks"])
    return forms


def _limit_statuses(form, statuses) -> None:
    form.fields["status"].queryset = TicketStatus.objects.filter(pk__in=[s.pk for s in statuses])


def _offer_closing_tasks(request, form, tasks) -> None:
    """The status form names the ticket's open tasks (closing is refused while they are
    open) and offers to close them too to an agent who may close every one."""
    form.open_tasks = [t for t in tasks if t.is_open]
    if not may_close_all(request.user, tasks):
        del form.fields["close_tasks_too"]


def action_form(request, ticket, name: str):
    """An unbound action form with the ticket's current values."""
    version = {"version": ticket.version}
    auto_id = f"{name}-%s"
    if name == "edit":
        return EditForm(
            auto_id=auto_id,
            initial={
                **version,
                "subject": ticket.subject,
                "topic": ticket.topic_id,
                "sla": ticket.sla_id,
                "requester": ticket.requester.email,
                **{f"cf_{f.name}": v for f, v in ticket_field_values(ticket)},
            },
            custom_fields=fields_for_topic(ticket.topic),
        )
    if name == "fields":
        return FieldsForm(
            auto_id=auto_id,
            initial={**version, **{f"cf_{f.name}": v for f, v in ticket_field_values(ticket)}},
            custom_fields=fields_for_topic(ticket.topic),
        )
    initial = {
        "priority": {**version, "priority": ticket.priority_id},
        "due": {**version, "due_at": ticket.due_at},
        "status": {**version, "status": ticket.status_id},
        "assignee": {**version, "agent": ticket.assignee_id},
        "team": {**version, "team": ticket.team_id},
        "transfer": {**version, "department": ticket.department_id},
        "topic": {**version, "topic": ticket.topic_id},
        "sla": {**version, "sla": ticket.sla_id},
        "refer": {},
        "collaborator": {},
    }.get(name, version)
    form = ACTIONS[name][0](auto_id=auto_id, initial=initial)
    if name == "status":
        granted = ticket_permissions(request.user, ticket)
        _limit_statuses(form, selectors.allowed_statuses(ticket, granted))
        _offer_closing_tasks(request, form, tasks_of_ticket(request.user, ticket))
    return form


def render_ticket(request, ticket, *, bound=None, status=200, open_panel=""):
    frame_ahead(request)
    ctx = selectors.ticket_page(request.user, ticket, config_snapshot(request))
    ctx["tasks"] = tasks_of_ticket(request.user, ticket)
    ctx["may_create_task"] = "task.create" in ctx["granted"] and ticket.state == "open"
    # reversed once, not once per entry of a long thread
    ctx["task_from_entry_url"] = reverse("panel:ticket_task_new", args=[ticket.number])
    ctx["forms"] = _forms(request, ticket, ctx, bound or {})
    ctx["open_panel"] = open_panel
    ctx["canned"] = canned_list(agent=request.user) if "ticket.reply" in ctx["granted"] else []
    ctx["next_number"] = selectors.next_ticket(
        request.user, ticket, request.session.get("panel_queue")
    )
    return page(request, "staff/ticket.html", ctx, partial="staff/ticket/_main.html", status=status)


TICKET = Kind(
    noun="ticket",
    find=lambda request, number: ticket_get_for(user=request.user, number=number),
    render=render_ticket,
    home="panel:home",
    gone=lambda: _("Ticket #%s is no longer in your view."),
    held=lambda: _("You hold the lock on this ticket."),
    release_lock=services.ticket_lock_release,
    friendly=FRIENDLY,
    draft_extra={"kind": "reply"},
)


@agent_required
@require_GET
def ticket_view(request, number):
    return render_ticket(request, ticket_or_404(request, number))


@agent_required
@require_GET
def ticket_print(request, number):
    ticket = ticket_or_404(request, number)
    params = PrintParams(request.GET)
    if not params.is_valid():
        return query_refused(params)
    notes = params.cleaned_data["notes"]
    items = [
        i
        for i in selectors.timeline(ticket)
        if i.kind == "entry" and (notes or i.obj.kind != "note")
    ]
    return render(
        request,
        "staff/ticket_print.html",
        {
            "ticket": ticket,
            "items": items,
            "notes": notes,
            "collaborators": selectors.collaborators_of(ticket),
        },
    )


def _after(request, ticket, text: str):
    return after(TICKET, request, ticket, text)


def _refused(request, ticket, outcome, *, bound=None, panel=""):
    return refused(TICKET, request, ticket, outcome.status, bound=bound, panel=panel)


def carry_out(
    request: PanelRequest,
    ticket: Ticket,
    call: Callable[[], object],
    success: str,
    *,
    form: Form | None = None,
    panel: str = "",
) -> HttpResponse:
    """Run one service call on the ticket (views.work.carry_out)."""
    return carry_out_work(TICKET, request, ticket, call, success, form=form, panel=panel)


def _invalid(request, ticket, form, name):
    return invalid(TICKET, request, ticket, form, name)


# --- the actions: (form class, service call, message) ---------------------------------------
def _passes(service: Callable[..., object], *fields: str, versioned: bool = True):
    return passes(TICKET, service, *fields, versioned=versioned)


_assign = _passes(services.ticket_assign, "agent", "team", "comment")
_transfer = _passes(services.ticket_transfer, "department", "comment")
_refer = _passes(services.ticket_refer, "agent", "team", "department", "comment", versioned=False)
_status = _passes(services.ticket_set_status, "status", "close_tasks_too")
_priority = _passes(services.ticket_set_priority, "priority")
_due = _passes(services.ticket_set_due_date, "due_at")
_answered = _passes(services.ticket_mark_answered, "answered")
_assignee = _passes(services.ticket_assign, "agent", "comment")
_team = _passes(services.ticket_assign, "team", "comment")
_topic = _passes(services.ticket_edit, "topic")
_sla = _passes(services.ticket_edit, "sla")


def _fields(request, t, f):
    return services.ticket_edit(
        actor=agent_of(request),
        ticket=t,
        custom_fields=custom_values(f),
        channel=PANEL,
        expected_version=form_version(f),
    )


def _others(request, f):
    found = []
    snapshot = Snapshot(HelpdeskSettings.load())
    for number in f.cleaned_data["numbers"]:
        try:
            found.append(ticket_get_for(user=request.user, number=number, snapshot=snapshot))
        except NotVisible:
            raise Conflict(
                _("Ticket #%s was not found.") % number,
                code="ticket_not_found",
                fields={"numbers": [_("Ticket #%s was not found.") % number]},
            ) from None
    return found


def _merge(request, t, f):
    d = f.cleaned_data
    return services.ticket_merge(
        actor=agent_of(request),
        ticket=t,
        sources=_others(request, f),
        mode=d["mode"],
        participants=d["participants"],
        child_status=d["child_status"],
        parent_status=d["parent_status"],
        channel=PANEL,
        expected_version=form_version(f),
    )


def _link(request, t, f):
    for other in _others(request, f):
        services.ticket_link(actor=agent_of(request), ticket=t, other=other, channel=PANEL)


def _edit(request, t, f):
    d = f.cleaned_data
    requester = user_get_or_create_by_email(actor=agent_of(request), email=d["requester"])[0]
    return services.ticket_edit(
        actor=agent_of(request),
        ticket=t,
        subject=d["subject"],
        topic=d["topic"],
        sla=d["sla"],
        requester=requester,
        custom_fields=custom_values(f),
        channel=PANEL,
        expected_version=form_version(f),
    )


def _collaborator(request, t, f):
    d = f.cleaned_data
    user = user_get_or_create_by_email(actor=agent_of(request), email=d["email"], name=d["name"])[0]
    return services.ticket_add_collaborator(
        actor=agent_of(request), ticket=t, user=user, role=d["role"], channel=PANEL
    )


ACTIONS = {
    "assign": (AssignForm, _assign, lambda: _("Ticket assigned.")),
    "transfer": (TransferForm, _transfer, lambda: _("Ticket transferred.")),
    "refer": (ReferForm, _refer, lambda: _("Ticket referred.")),
    "status": (StatusForm, _status, lambda: _("Status changed.")),
    "priority": (PriorityForm, _priority, lambda: _("Priority changed.")),
    "due": (DueDateForm, _due, lambda: _("Due date changed.")),
    "answered": (AnsweredForm, _answered, lambda: _("Answered flag changed.")),
    "merge": (MergeForm, _merge, lambda: _("Tickets merged into this one.")),
    "link": (NumbersForm, _link, lambda: _("Tickets linked.")),
    "edit": (EditForm, _edit, lambda: _("Ticket updated.")),
    "collaborator": (CollaboratorForm, _collaborator, lambda: _("Collaborator added.")),
    # the sidebar's properties edited one at a time (helpdesk.panel.selectors.ticket_sidebar)
    "assignee": (AssigneeForm, _assignee, lambda: _("Ticket assigned.")),
    "team": (TeamForm, _team, lambda: _("Ticket assigned.")),
    "topic": (TopicForm, _topic, lambda: _("Help topic changed.")),
    "sla": (SlaForm, _sla, lambda: _("SLA changed.")),
    "fields": (FieldsForm, _fields, lambda: _("Ticket updated.")),
}


ACTION_TITLES = {
    "assign": lambda: _("Assign"),
    "transfer": lambda: _("Transfer"),
    "refer": lambda: _("Refer"),
    "status": lambda: _("Change status"),
    "priority": lambda: _("Priority"),
    "due": lambda: _("Due date"),
    "answered": lambda: _("Mark answered or unanswered"),
    "merge": lambda: _("Merge or link other tickets under this one"),
    "link": lambda: _("Link tickets"),
    "edit": lambda: _("Edit details"),
    "collaborator": lambda: _("Add a collaborator"),
    "assignee": lambda: _("Agent"),
    "team": lambda: _("Team"),
    "topic": lambda: _("Help topic"),
    "sla": lambda: _("SLA"),
    "fields": lambda: _("Ticket fields"),
}


def _bind(ticket, name: str, data) -> Form:
    form_class = ACTIONS[name][0]
    if form_class is EditForm:
        return EditForm(data, auto_id=f"{name}-%s", custom_fields=fields_for_topic(ticket.topic))
    if form_class is FieldsForm:
        return FieldsForm(data, auto_id=f"{name}-%s", custom_fields=fields_for_topic(ticket.topic))
    return form_class(data, auto_id=f"{name}-%s")


ticket_action = action_view(
    Actions(kind=TICKET, table=ACTIONS, titles=ACTION_TITLES, bind=_bind, current=action_form)
)
ticket_claim = button_view(
    TICKET, services.ticket_claim, lambda t: _("You claimed this ticket."), versioned=False
)
ticket_release = button_view(TICKET, services.ticket_release, lambda t: _("Assignment released."))
# Move to the trash (tickets.services.ticket_delete).
ticket_delete = button_view(
    TICKET, services.ticket_delete, lambda t: _("Ticket #%s moved to the trash.") % t.number
)


@agent_required
@require_POST
def ticket_unlink(request, number, other):
    ticket = ticket_or_404(request, number)
    other_ticket = ticket_or_404(request, other)
    return carry_out(
        request,
        ticket,
        lambda: services.ticket_unlink(
            actor=agent_of(request), ticket=ticket, other=other_ticket, channel=PANEL
        ),
        _("Link removed."),
    )


@agent_required
@require_POST
def ticket_remove_collaborator(request, number, user_id):
    ticket = ticket_or_404(request, number)
    collab = next((c for c in selectors.collaborators_of(ticket) if c.user_id == user_id), None)
    if collab is None:
        raise Http404
    return carry_out(
        request,
        ticket,
        lambda: services.ticket_remove_collaborator(
            actor=agent_of(request), ticket=ticket, user=collab.user, channel=PANEL
        ),
        _("Collaborator removed."),
    )


@agent_required
@require_POST
def ticket_undeliverable_clear(request, number, user_id):
    """Mail a requester or collaborator again after a hard bounce (helpdesk.mail)."""
    from helpdesk.mail.services import address_clear_undeliverable

    ticket = ticket_or_404(request, number)
    people = [ticket.requester, *(c.user for c in selectors.collaborators_of(ticket))]
    person = next((p for p in people if p.pk == user_id), None)
    if person is None:
        raise Http404
    return carry_out(
        request,
        ticket,
        lambda: address_clear_undeliverable(actor=agent_of(request), address=person.email),
        _("Mail goes to %(email)s again.") % {"email": person.email},
    )


# --- reply and note ----------------------------------------------------------------------------
def _reply_form(request, ticket, data=None):
    ctx_collabs = selectors.collaborators_of(ticket)
    granted = services_permissions(request.user, ticket)
    statuses = selectors.allowed_statuses(ticket, granted)
    return ReplyForm(
        data if data is not None else request.POST,
        request.FILES,
        auto_id="reply-%s",
        statuses=statuses,
        collaborators=ctx_collabs,
        signatures=services.signature_choices(request.user, ticket.department),
    ), ctx_collabs


def default_signature(agent, ticket) -> str:
    """The reply form's signature before the agent chooses: their own when they have one
    and chose it by default in their profile (sign_replies), else none."""
    offered = {value for value, _label in services.signature_choices(agent, ticket.department)}
    mine = services.Signature.MINE.value
    return mine if mine in offered and preferences_of(agent).sign_replies else "none"


def services_permissions(user, ticket):
    return ticket_permissions(user, ticket)


@agent_required
@require_POST
def ticket_reply(request, number):
    ticket = ticket_or_404(request, number)
    form, _collabs = _reply_form(request, ticket)
    if request.POST.get("insert_canned"):
        return _insert_canned(request, ticket)
    if not form.is_valid():
        return _invalid(request, ticket, form, "reply")
    d = form.cleaned_data
    outcome = attempt(
        request,
        lambda: services.ticket_post_reply(
            actor=agent_of(request),
            ticket=ticket,
            body=d["body"].strip(),
            fmt=d["fmt"],
            files=all_attachments(form),
            status=d["status"],
            cc=[int(pk) for pk in d["cc"]],
            signature=d["signature"],
            channel=PANEL,
            expected_version=form_version(form),
        ),
        form=form,
    )
    if not outcome.ok:
        fresh = ticket_or_404(request, number)
        data = request.POST.copy()
        data["version"] = str(fresh.version)  # submitting again (after reading) goes through
        again, _c = _reply_form(request, fresh, data)
        again.is_valid()
        for error in form.non_field_errors():
            again.add_error(None, error)
        if d["attachments"]:
            again.add_error("attachments", _("Attach your files again."))
        return render_ticket(
            request, fresh, bound={"reply": again}, status=outcome.status, open_panel="reply"
        )
    draft_delete(agent=request.user, namespace=f"ticket.{ticket.pk}.reply")
    return _after(request, ticket, _("Reply posted."))


def _insert_canned(request, ticket):
    """Without JavaScript: add the chosen canned response to the reply and show it again."""
    data = request.POST.copy()
    text = _canned_text(request, ticket, data.get("canned"))
    if text is None:
        messages.error(request, _("Choose a canned response."))
    else:
        if data.get("format") == "html":
            data["body"] = data.get("body", "") + text_to_html(text)
        else:
            data["body"] = (data.get("body", "").rstrip() + "\n\n" + text).strip()
    form, _c = _reply_form(request, ticket, data)
    form.is_valid()
    return render_ticket(request, ticket, bound={"reply": form}, open_panel="reply")


def _canned_text(request, ticket, canned_id):
    if not str(canned_id or "").isdigit():
        return None
    canned = canned_visible_to(agent=request.user).filter(pk=int(canned_id)).first()
    if canned is None:
        return None
    return html_to_text(canned_render(canned=canned, ticket=ticket, agent=request.user))


@agent_required
@require_GET
def canned_insert(request, number, canned_id):
    """The text of a canned response for this ticket, for the picker's JavaScript."""
    ticket = ticket_or_404(request, number)
    text = _canned_text(request, ticket, canned_id)
    if text is None:
        raise Http404
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@agent_required
@require_POST
def ticket_note(request, number):
    ticket = ticket_or_404(request, number)
    form = NoteForm(request.POST, request.FILES, auto_id="note-%s")
    if not form.is_valid():
        return _invalid(request, ticket, form, "note")
    d = form.cleaned_data
    outcome = attempt(
        request,
        lambda: services.ticket_post_note(
            actor=agent_of(request),
            ticket=ticket,
            body=d["body"],
            fmt=d["fmt"],
            title=d["title"],
            files=all_attachments(form),
            channel=PANEL,
        ),
        form=form,
    )
    if not outcome.ok:
        return _refused(request, ticket, outcome, bound={"note": form}, panel="note")
    draft_delete(agent=request.user, namespace=f"ticket.{ticket.pk}.note")
    return _after(request, ticket, _("Internal note added."))


# --- drafts and the collision lock -------------------------------------------------------------
@agent_required
@require_POST
def ticket_draft(request, number, kind):
    """Save the draft as the agent types; typing a reply also takes or renews the lock."""
    if kind not in ("reply", "note"):
        raise Http404
    ticket = ticket_or_404(request, number)
    error = draft_saved(request, f"ticket.{ticket.pk}.{kind}")
    ctx = {"ticket": ticket, "kind": kind, "saved": not error, "draft_error": error}
    if kind == "reply":
        ctx.update(lock_state(request, ticket, break_lock=False))
    return render(request, "staff/ticket/_draft_status.html", ctx, status=422 if error else 200)


ticket_lock = lock_view(TICKET)
ticket_unlock = unlock_view(TICKET)
attachment_download = attachment_view(TICKET)
