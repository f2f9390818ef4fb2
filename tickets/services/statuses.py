"""Changing a ticket status itself (its name, state, reopen rules): helpdesk admins.

`Ticket.state` repeats its status's state (queues filter on it without a join), so the
state of a status is fixed while anything depends on it: a status that tickets carry,
that the settings name as the default (open) or closed status, or that another status
reopens to (open) keeps its state; everything else about it may change (a rename, the
reopen rules, pausing the SLA). To move tickets to another state, create a status in
that state and change the tickets' status: the tickets then go through the state
machine (events, closing dates, the SLA clock), which a status edit would skip.

The Django admin and the API both add and change a status through `ticket_status_save`.
"""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q

from accounts.actors import Actor
from accounts.configuration import config_delete, config_save, require_admin
from accounts.errors import Conflict, ValidationFailed

from ..models import HelpdeskSettings, State, Ticket, TicketStatus

EDITABLE = frozenset(
    {"name", "state", "description", "allow_reopen", "reopen_status", "pauses_sla", "sort"}
)


def status_state_fixed_by(status: TicketStatus, new_state: str) -> list[str]:
    """What keeps `status` from moving to `new_state` (empty when it may)."""
    if new_state == status.state:
        return []
    reasons = []
    tickets = Ticket.objects.filter(status=status).count()
    if tickets:
        reasons.append(f"{tickets} ticket{'s' if tickets != 1 else ''} have it")
    settings = HelpdeskSettings.objects.filter(Q(default_status=status) | Q(closed_status=status))
    for row in settings.only("default_status", "closed_status"):
        if row.default_status_id == status.pk and new_state != State.OPEN:
            reasons.append("it is the default status for new tickets (an open one)")
        if row.closed_status_id == status.pk and new_state != State.CLOSED:
            reasons.append("it is the status for merged and client-closed tickets (a closed one)")
    if new_state != State.OPEN:
        names = TicketStatus.objects.filter(reopen_status=status).values_list("name", flat=True)
        reasons += [f"the status {name} reopens to it (an open one)" for name in names]
    return reasons


def ticket_status_save(
    *,
    actor: Actor,
    instance: TicketStatus,
    data: Mapping[str, Any] | None = None,
    m2m: Mapping[str, Any] | None = None,
) -> TicketStatus:
    """Add (an unsaved `instance`) or change a status: the one path for the Django admin
    and the API. Its state only changes while nothing depends on it (see above).

    Refusals change nothing: PermissionRefused (not a helpdesk admin), ValidationFailed
    (unknown field, the model's rules), Conflict `status_in_use` (a state change of a
    status in use), Conflict `conflict` (a name taken meanwhile)."""
    data = dict(data or {})
    require_admin(actor)
    unknown = sorted(set(data) - EDITABLE)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(unknown)}.", code="invalid")
    if instance.pk is None:
        return config_save(actor=actor, instance=instance, data=data, m2m=m2m)
    with transaction.atomic():
        # Locked (FOR UPDATE) before counting: a transaction that has written a
        # ticket with this status holds a key-share lock on it until it commits.
        locked = TicketStatus.objects.select_for_update().get(pk=instance.pk)
        new_state = data.get("state", locked.state)
        if new_state in State.values:  # any other value: full_clean() refuses it
            _refuse_in_use(locked, new_state)
        return config_save(actor=actor, instance=locked, data=data, m2m=m2m)


def ticket_status_delete(*, actor: Actor, instance: TicketStatus) -> None:
    """Delete a status no ticket, topic or setting uses (`in_use` otherwise)."""
    config_delete(actor=actor, instance=instance)


def _refuse_in_use(status: TicketStatus, new_state: str) -> None:
    reasons = status_state_fixed_by(status, new_state)
    if reasons:
        state = State(new_state).label.lower()
        article = "an" if state[0] in "aeiou" else "a"  # an open, a closed
        message = (
            f"The status {status.name} stays {State(status.state).label.lower()}: "
            f"{'; '.join(reasons)}. Create {article} {state} status "
            "and move the tickets to it instead."
        )
        raise Conflict(message, code="status_in_use", fields={"state": [message]})
