"""Status changes: the state machine applied (close, reopen, archive, delete, restore).

Closing and reopening also move the assignment as osTicket does (`apply_status`, so
every path that closes or reopens follows it: the status menu, a reply with a status,
a client's message, a merge, an unmerge):
- an agent closing a ticket nobody holds (no agent, no team) becomes its assignee;
- with `HelpdeskSettings.auto_refer_closed` the assignee of the moment of closing (its
  agent and its team; the closing agent when it had neither) is referred to the ticket,
  so they keep seeing it whoever holds it later;
- on reopening, with `reopen_assign_last` the ticket stays with (or goes back to) its
  agent, or else its last respondent, while that agent is available (active, not on
  vacation, with access to the department); otherwise, or with the setting off, the
  agent assignment is dropped (the team stays).
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts import permissions as perms
from accounts.actors import Actor, actor_user, is_agent, is_api_key, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused
from accounts.models import User
from routing.models import Team
from routing.sla import resume_due_at, sla_due_at
from threads import services as threads
from threads.models import ThreadEntry, ThreadEvent

from .. import customfields, signals
from ..models import (
    TRANSITIONS,
    CustomField,
    HelpdeskSettings,
    State,
    Task,
    TaskState,
    Ticket,
    TicketFieldValue,
    TicketStatus,
    transition_permissions,
)
from ..permissions import CLIENT_CLOSE, check, check_task, check_visible, client_refusal
from ._common import channel_of, lock, record, ref, save
from .assignment import announce_assignment
from .tasks import close_locked, lock_task


def authorize_status(
    actor: Actor, ticket: Ticket, status: TicketStatus, config: HelpdeskSettings
) -> None:
    """Refuse an illegal move, or one the actor may not make (an API key: its write
    scope holds every move the state machine allows)."""
    if status.state not in TRANSITIONS[ticket.state]:
        raise Conflict(
            f"A {ticket.get_state_display().lower()} ticket cannot become "
            f"{State(status.state).label.lower()} (status {status.name}).",
            code="transition_not_allowed",
        )
    if is_system(actor):
        return
    if is_agent(actor) or is_api_key(actor):
        check(actor, transition_permissions(ticket.state, status.state), ticket)
        return
    check_visible(actor, ticket)
    refusal = client_refusal(actor, CLIENT_CLOSE, ticket, config)
    if refusal is None and status.state != State.CLOSED:  # closing is all a client may do
        refusal = PermissionRefused(
            "You may not change the status of this ticket.", code="permission_denied"
        )
    if refusal is not None:
        raise refusal


def close_refusal(ticket: Ticket, config: HelpdeskSettings) -> Conflict | None:
    """Why this ticket may not close, or None: osTicket's close guards, asked by every
    path that closes (the status menu and bulk action, a reply with a closed status, a
    client's close, the API, mail): an open task, an empty field that is required to
    close, no help topic while the settings require one. A merge's children close
    regardless (as osTicket forces them)."""
    open_tasks = list(
        Task.objects.filter(ticket_id=ticket.pk, state=TaskState.OPEN)
        .order_by("id")
        .values("id", "number", "title")
    )
    if open_tasks:
        names = ", ".join(f"#{t['number']} ({t['title']})" for t in open_tasks)
        return Conflict(
            f"Ticket #{ticket.number} has open tasks: {names}. Close them first.",
            code="open_tasks",
            extra={"tasks": open_tasks},
        )
    if config.require_topic_to_close and ticket.topic_id is None:
        return Conflict(
            f"Ticket #{ticket.number} needs a help topic before it can be closed.",
            code="topic_required_to_close",
            fields={"topic": ["Required to close."]},
        )
    missing = _empty_required_to_close(ticket)
    if missing:
        return Conflict(
            f"Ticket #{ticket.number} cannot be closed while these fields are empty: "
            f"{', '.join(f.label for f in missing)}.",
            code="fields_required_to_close",
            fields={f.name: ["Required to close."] for f in missing},
        )
    return None


def _empty_required_to_close(ticket: Ticket) -> list[CustomField]:
    required = [f for f in customfields.fields_for_topic(ticket.topic) if f.required_to_close]
    if not required:
        return []
    filled = set(
        TicketFieldValue.objects.filter(ticket_id=ticket.pk, field__in=required)
        .exclude(value="")
        .values_list("field_id", flat=True)
    )
    return [f for f in required if f.pk not in filled]


def close_tasks(ticket: Ticket, *, actor: Actor, channel: str) -> int:
    """Close the open tasks of a locked ticket with it ("close its tasks too"): the actor
    needs task.close on each; returns how many closed."""
    closed = 0
    for pk in Task.objects.filter(ticket_id=ticket.pk, state=TaskState.OPEN).values_list(
        "pk", flat=True
    ):
        task = lock_task(pk)
        check_task(actor, "task.close", task)
        close_locked(
            task,
            actor=actor,
            channel=channel,
            comment=f"With ticket #{ticket.number}.",
            ticket=ticket,
        )
        closed += 1
    return closed


def apply_status(
    ticket: Ticket,
    status: TicketStatus,
    *,
    actor: Actor,
    channel: str,
    config: HelpdeskSettings | None = None,
    guard: bool = True,
) -> list[str]:
    """Move a locked ticket to `status` and record it, with the assignment rules of
    closing and reopening (module docstring); returns the fields to save. Closing an
    open ticket is refused while `close_refusal` gives a reason, unless `guard` is off
    (a merge's children)."""
    if guard and ticket.state == State.OPEN and status.state == State.CLOSED:
        refusal = close_refusal(ticket, config or HelpdeskSettings.load())
        if refusal is not None:
            raise refusal
    now = timezone.now()
    before = {"id": ticket.status_id, "name": ticket.status.name, "state": ticket.state}
    old_state = ticket.state
    ticket.status, ticket.state = status, status.state
    fields = ["status", "state", "sla_paused_at", "sla_due_at"]
    if status.state != State.OPEN and old_state == State.OPEN:
        ticket.closed_at, ticket.is_overdue = now, False
        fields += ["closed_at", "is_overdue"]
        threads.drafts_delete(namespace_prefix=ticket.draft_namespace)
    elif status.state == State.OPEN and old_state in (State.CLOSED, State.ARCHIVED):
        ticket.reopen_count += 1
        ticket.reopened_at, ticket.closed_at = now, None
        ticket.is_answered, ticket.is_overdue = False, False
        ticket.sla_due_at, ticket.sla_paused_at = sla_due_at(now, ticket.sla), None
        fields += ["reopen_count", "reopened_at", "closed_at", "is_answered", "is_overdue"]
    elif status.state == State.OPEN and old_state == State.DELETED:
        ticket.closed_at = None
        fields.append("closed_at")
    _pause_or_resume(ticket, now)
    record(
        ticket,
        ThreadEvent.Kind.STATUS_CHANGED,
        actor,
        channel,
        before=before,
        after={"id": status.pk, "name": status.name, "state": status.state},
    )
    if old_state == State.OPEN and status.state == State.CLOSED:
        fields += _on_close(ticket, actor=actor, channel=channel, config=config)
    elif old_state == State.CLOSED and status.state == State.OPEN:
        fields += _on_reopen(ticket, actor=actor, channel=channel, config=config)
    return fields


def _may_hold(agent: User, ticket: Ticket) -> bool:
    """May this agent be (or stay) the ticket's assignee? osTicket's "available agent with
    access to the department": active, not on vacation, the department among theirs (a
    helpdesk admin's too, unless the department assigns only to its members)."""
    if not (agent.is_agent and agent.is_active and not agent.on_vacation):
        return False
    member = ticket.department_id in perms.department_ids(agent)
    return member or (agent.is_helpdesk_admin and not ticket.department.assign_members_only)


def _on_close(
    ticket: Ticket, *, actor: Actor, channel: str, config: HelpdeskSettings | None
) -> list[str]:
    config = config or HelpdeskSettings.load()
    fields = []
    agent = actor_user(actor) if is_agent(actor) else None
    previous_agent, previous_team = ticket.assignee, ticket.team
    nobody = previous_agent is None and previous_team is None
    dept = ticket.department
    if (
        agent is not None
        and nobody
        and not (dept.assign_members_only and dept.pk not in perms.department_ids(agent))
    ):
        _set_agent(ticket, agent, actor=actor, channel=channel, reason="closed")
        fields.append("assignee")
    if config.auto_refer_closed:
        targets: list[tuple[str, User | Team | None]]
        targets = [("agent", previous_agent), ("team", previous_team)]
        if nobody:
            targets = [("agent", agent)]
        for kind, target in targets:
            if target is not None:
                _refer(ticket, kind, target, actor=actor, channel=channel)
    return fields


def _on_reopen(
    ticket: Ticket, *, actor: Actor, channel: str, config: HelpdeskSettings | None
) -> list[str]:
    config = config or HelpdeskSettings.load()
    current = ticket.assignee
    candidate = (current or _last_respondent(ticket)) if config.reopen_assign_last else None
    if candidate is not None and _may_hold(candidate, ticket):
        if candidate.pk == ticket.assignee_id:
            return []
        _set_agent(ticket, candidate, actor=actor, channel=channel, reason="reopened")
        return ["assignee"]
    if current is None:
        return []
    ticket.assignee = None
    record(
        ticket,
        ThreadEvent.Kind.RELEASED,
        actor,
        channel,
        previous_agent=ref(current),
        previous_team=None,
        auto=True,
        reason="reopened",
    )
    send_on_commit(
        signals.ticket_released,
        sender=Ticket,
        ticket=ticket,
        actor=actor,
        channel=channel,
        previous_agent=current,
        previous_team=None,
    )
    return ["assignee"]


def _last_respondent(ticket: Ticket) -> User | None:
    entry = (
        ThreadEntry.objects.filter(
            thread_id=ticket.thread_id, kind=ThreadEntry.Kind.RESPONSE, poster__isnull=False
        )
        .select_related("poster")
        .order_by("-created_at", "-id")
        .first()
    )
    return entry.poster if entry is not None else None


def _set_agent(ticket: Ticket, agent: User, *, actor: Actor, channel: str, reason: str) -> None:
    previous = ticket.assignee
    ticket.assignee = agent
    record(
        ticket,
        ThreadEvent.Kind.ASSIGNED,
        actor,
        channel,
        agent=ref(agent),
        team=ref(ticket.team),
        previous_agent=ref(previous),
        auto=True,
        reason=reason,
    )
    announce_assignment(
        ticket,
        actor=actor,
        channel=channel,
        agent=agent,
        previous_agent=previous,
        previous_team=ticket.team,
    )


def _refer(ticket: Ticket, kind: str, target: User | Team, *, actor: Actor, channel: str) -> None:
    if isinstance(target, User):  # kind "agent"
        referral, created = threads.referral_add(thread_id=ticket.thread_id, agent=target)
    else:  # kind "team"
        referral, created = threads.referral_add(thread_id=ticket.thread_id, team=target)
    if not created:
        return
    record(
        ticket,
        ThreadEvent.Kind.REFERRED,
        actor,
        channel,
        target_kind=kind,
        target=ref(target),
        auto=True,
        reason="closed",
    )
    send_on_commit(
        signals.ticket_referred,
        sender=Ticket,
        ticket=ticket,
        actor=actor,
        channel=channel,
        referral=referral,
    )


def _pause_or_resume(ticket: Ticket, now: dt.datetime) -> None:
    """A status that pauses the SLA stops the clock; leaving it pushes the due date back by
    the business time that was left when it stopped. Closing simply drops the pause."""
    pausing = ticket.state == State.OPEN and ticket.status.pauses_sla
    if pausing and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    elif not pausing and ticket.sla_paused_at is not None:
        if ticket.state == State.OPEN:
            ticket.sla_due_at = resume_due_at(
                due_at=ticket.sla_due_at, paused_at=ticket.sla_paused_at, now=now, sla=ticket.sla
            )
        ticket.sla_paused_at = None


def ticket_set_status(
    *,
    actor: Actor,
    ticket: Ticket,
    status: TicketStatus,
    close_tasks_too: bool = False,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Change the status (close, reopen, archive, delete to the trash, restore).

    Setting the status a ticket already has changes nothing. Closing with
    `close_tasks_too` closes the ticket's open tasks first, in the same transaction
    (the actor needs task.close on each); otherwise open tasks refuse the close.
    """
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    with transaction.atomic():
        t = lock(ticket, expected_version)
        if t.status_id == status.pk:
            return t
        authorize_status(actor, t, status, config)
        if close_tasks_too and t.state == State.OPEN and status.state == State.CLOSED:
            close_tasks(t, actor=actor, channel=channel)
        previous = t.status
        fields = apply_status(t, status, actor=actor, channel=channel, config=config)
        save(t, *fields)
        announce_status(t, actor=actor, channel=channel, previous=previous)
    return t


def announce_status(ticket: Ticket, *, actor: Actor, channel: str, previous: TicketStatus) -> None:
    """Send ticket_status_changed after commit (every path that changes a status)."""
    send_on_commit(
        signals.ticket_status_changed,
        sender=Ticket,
        ticket=ticket,
        actor=actor,
        channel=channel,
        previous_status=previous,
        status=ticket.status,
    )
