"""Changing a ticket status itself (its name, state, reopen rules): helpdesk admins.

`Ticket.state` repeats its status's state (queues filter on it without a join), so the
state of a status is fixed while anything depends on it: a status that tickets carry,
that the settings name as the default (open) or closed status, or that another status
reopens to (open) keeps its state; everything else about it may change (a rename, the
reopen rules, pausing the SLA). To move tickets to another state, create a status in
that state and change the tickets' status: the tickets then go through the state
machine (events, closing dates, the SLA clock), which a status edit would skip.

The Django admin and the API both change a status through `status_update`.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.actors import is_agent
from accounts.errors import Conflict, PermissionRefused, ValidationFailed

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


def status_update(*, actor, status: TicketStatus, changes: Mapping[str, Any]) -> TicketStatus:
    """Change a status; its state only while nothing depends on it (see above).

    Refusals change nothing: PermissionRefused (not a helpdesk admin), ValidationFailed
    (unknown field, the model's rules), Conflict `status_in_use` (a state change of a
    status in use), Conflict `conflict` (a name taken meanwhile)."""
    if not (is_agent(actor) and actor.is_helpdesk_admin):
        raise PermissionRefused("Only helpdesk admins change statuses.", code="permission_denied")
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(unknown)}.", code="invalid")
    try:
        with transaction.atomic():
            # Locked (FOR UPDATE) before counting: a transaction that has written a
            # ticket with this status holds a key-share lock on it until it commits.
            locked = TicketStatus.objects.select_for_update().get(pk=status.pk)
            new_state = changes.get("state", locked.state)
            if new_state in State.values:  # any other value: full_clean() refuses it
                _refuse_in_use(locked, new_state)
            for name, value in changes.items():
                setattr(locked, name, value)
            _full_clean(locked)
            locked.save()
    except IntegrityError:
        raise Conflict("This clashes with an existing status.", code="conflict") from None
    return locked


def _refuse_in_use(status: TicketStatus, new_state: str) -> None:
    reasons = status_state_fixed_by(status, new_state)
    if reasons:
        message = (
            f"The status {status.name} stays {State(status.state).label.lower()}: "
            f"{'; '.join(reasons)}. Create a {State(new_state).label.lower()} status "
            "and move the tickets to it instead."
        )
        raise Conflict(message, code="status_in_use", fields={"state": [message]})


def _full_clean(status: TicketStatus) -> None:
    try:
        status.full_clean()
    except DjangoValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        fields = {("non_field_errors" if k == "__all__" else k): v for k, v in fields.items()}
        raise ValidationFailed("; ".join(exc.messages), fields=fields) from None
