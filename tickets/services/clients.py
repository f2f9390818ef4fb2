"""A client closing their own ticket (writing to it is entries.ticket_post_message).
Whether they may is decided by tickets.permissions.client_refusal, for every channel."""

from accounts.actors import Actor

from ..models import HelpdeskSettings, Ticket
from ..permissions import CLIENT_CLOSE, check_visible, client_refusal
from ._common import closed_status
from .status import ticket_set_status


def ticket_client_close(*, actor: Actor, ticket: Ticket, channel: str | None = None) -> Ticket:
    """Close the ticket with the configured closed status (HelpdeskSettings.closed_status,
    else the first closed one): the portal's "Close this ticket". The status change is
    authorized as any other, and first here: only a client, their own open ticket, when
    clients may close (a closed ticket is refused, not silently left as it is)."""
    check_visible(actor, ticket)
    config = HelpdeskSettings.load()
    refusal = client_refusal(actor, CLIENT_CLOSE, ticket, config)
    if refusal is not None:
        raise refusal
    return ticket_set_status(
        actor=actor, ticket=ticket, status=closed_status(config), channel=channel
    )
