"""Status changes: the state machine applied (close, reopen, archive, delete, restore)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, is_agent, is_api_key, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused
from routing.sla import resume_due_at, sla_due_at
from threads import services as threads
from threads.models import ThreadEvent

from .. import signals
from ..models import (
    TRANSITIONS,
    HelpdeskSettings,
    State,
    Ticket,
    TicketStatus,
    transition_permissions,
)
from ..permissions import CLIENT_CLOSE, check, check_visible, client_refusal
from ._common import channel_of, lock, record, save


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


def apply_status(ticket: Ticket, status: TicketStatus, *, actor: Actor, channel: str) -> list[str]:
    """Move a locked ticket to `status` and record it; returns the fields to save."""
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
    return fields


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
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Change the status (close, reopen, archive, delete to the trash, restore).

    Setting the status a ticket already has changes nothing.
    """
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    with transaction.atomic():
        t = lock(ticket, expected_version)
        if t.status_id == status.pk:
            return t
        authorize_status(actor, t, status, config)
        previous = t.status
        fields = apply_status(t, status, actor=actor, channel=channel)
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
