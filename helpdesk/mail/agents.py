"""An agent answering a ticket by email: a response when allowed, an internal note by a
marker line, and an internal note (with the reason) when a response is refused, so the
agent's words are never lost and never reach the client unchecked.

A reply whose first line is the close marker (`#close`) is a response that closes the
ticket in one step (`ticket_post_reply` with the closed status). When that is refused
(an open task, another close guard, no permission to close...) nothing is posted and
the mail is parked with the reason: the client gets no answer the agent meant to send
with the close, and no note pretends it was done."""

from accounts.errors import Conflict, DomainError, NotVisible, PermissionRefused
from threads.models import ThreadEntry
from tickets import services as tickets
from tickets.models import HelpdeskSettings, Ticket
from tickets.selectors import ticket_is_visible

from .models import InboundMessage
from .parsing import ParsedMessage


def _split_marker(body: str, fmt: str, marker: str) -> tuple[bool, str]:
    """(is a note, body without the marker line) when the first line is the marker."""
    if not marker:
        return False, body
    from threads.html import html_to_text

    text = html_to_text(body) if fmt == "html" else body
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.lower() != marker.lower():
        return False, body
    pos = body.lower().find(marker.lower())
    return True, body[:pos] + body[pos + len(marker) :]


def agent_post(parsed: ParsedMessage, ticket: Ticket, agent, body: str, channel, config):
    from .route import Outcome

    S = InboundMessage.Status
    if not ticket_is_visible(user=agent, ticket=ticket):
        return None  # an agent writing about a ticket they cannot see: a new ticket
    is_note, body = _split_marker(body, parsed.fmt, config.agent_note_marker)
    closing = False
    if not is_note:
        closing, body = _split_marker(body, parsed.fmt, config.agent_close_marker)
    common = {
        "actor": agent,
        "ticket": ticket,
        "body": body,
        "fmt": parsed.fmt,
        "files": parsed.attachments,
        "source": ThreadEntry.Source.EMAIL,
        "channel": channel,
    }
    if is_note:
        posted = tickets.ticket_post_note(**common)
        return Outcome(S.APPENDED, posted.ticket, posted.entry, "Internal note by email.")
    if closing:
        return _reply_and_close(parsed, ticket, common)
    try:
        posted = tickets.ticket_post_reply(**common, message_id=parsed.message_id)
    except (PermissionRefused, Conflict, NotVisible) as exc:
        posted = tickets.ticket_post_note(
            **common, title=f"Emailed reply kept as an internal note: {exc.message}"[:255]
        )
        return Outcome(S.APPENDED, posted.ticket, posted.entry, f"Kept as a note: {exc.message}")
    return Outcome(S.APPENDED, posted.ticket, posted.entry, "Response by email.")


def _reply_and_close(parsed: ParsedMessage, ticket: Ticket, common: dict):
    """The response and the close in one step; refused, nothing is posted: parked."""
    from .route import Outcome

    S = InboundMessage.Status
    try:
        status = tickets.closed_status(HelpdeskSettings.load())
        posted = tickets.ticket_post_reply(**common, status=status, message_id=parsed.message_id)
    except DomainError as exc:
        why = f"The reply asks to close ticket #{ticket.number}, which is refused: {exc.message}"
        return Outcome(S.PARKED, ticket, None, f"{why} Nothing was posted.")
    return Outcome(S.APPENDED, posted.ticket, posted.entry, "Response by email; ticket closed.")
