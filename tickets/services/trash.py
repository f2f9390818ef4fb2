"""Moving a ticket to the trash: which status that is, and the one operation every
channel calls (the panel's delete button and its bulk delete)."""

from accounts.actors import Actor
from accounts.errors import Conflict

from ..models import State, Ticket, TicketStatus
from ..permissions import check
from .status import ticket_set_status


def trash_status() -> TicketStatus | None:
    """The status a deleted ticket gets: the first of the deleted state (by sort, then
    id), or None when the install has none."""
    return TicketStatus.objects.filter(state=State.DELETED).order_by("sort", "pk").first()


def ticket_delete(
    *,
    actor: Actor,
    ticket: Ticket,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Move a ticket to the trash (ticket.delete): hidden from all but helpdesk admins,
    restorable, erased for good only by their purge (tickets_purge).

    With no deleted status configured nothing is deleted: `Conflict` with code
    `no_trash_status` (osTicket erases at once; here erasing is the admins' purge), after
    the same visibility and permission checks as a delete would get.
    """
    trash = trash_status()
    if trash is None:
        check(actor, "ticket.delete", ticket)
        raise Conflict(
            "No deleted status is configured: tickets cannot be moved to the trash. "
            "A helpdesk admin can add a status in the deleted state.",
            code="no_trash_status",
        )
    return ticket_set_status(
        actor=actor,
        ticket=ticket,
        status=trash,
        channel=channel,
        expected_version=expected_version,
    )
