"""Which ticket a message belongs to (osTicket's ThreadEntry::lookupByEmailHeaders).

1. In-Reply-To and References (newest first) against the Message-IDs we sent (our
   signed ids, and the outbound rows), the ones we received (thread entries), and
   after an osTicket import the ones osTicket sent about an imported ticket
   (`helpdesk.importers.osticket.message_ids`);
2. the subject tag `[#NUMBER]`, only when the sender is the ticket's requester, an
   active collaborator, or an agent who can see the ticket;
3. otherwise none: a new ticket.

Finding the ticket is not joining it: `route` lets only an accepted sender who is a
participant (`is_participant`) add to it.

A reply to mail about a task names one of our task Message-IDs (`find_task`): when the
newest of our ids it cites is one, it belongs to that task, never to a ticket (and is
posted only by an agent who may, `task_replies`).
"""

import re
from dataclasses import dataclass

from helpdesk.importers.osticket.message_ids import imported_thread as osticket_thread
from threads.models import Collaborator, ThreadEntry
from tickets.models import Task, Ticket
from tickets.selectors import ticket_is_visible

from .ids import TASK_PREFIX, decode_message_id, decode_task_message_id
from .models import OutboundMessage
from .parsing import ParsedMessage

SUBJECT_TAG = re.compile(r"\[#\s*([A-Za-z0-9][A-Za-z0-9_-]{0,31})\]")


@dataclass(frozen=True)
class Match:
    ticket: Ticket | None
    how: str = ""


def received_ids(ids: list[str]) -> dict[str, int]:
    """{Message-ID: ticket id} of the given ids that are messages we received (one query)."""
    ids = [i for i in ids if i]
    if not ids:
        return {}
    rows = ThreadEntry.objects.filter(message_id__in=ids, thread__ticket__isnull=False)
    return dict(rows.values_list("message_id", "thread__ticket__id"))


def _by_ids(ids: list[str], received: dict[str, int] | None) -> Match:
    if not ids:
        return Match(None)
    found: dict[str, tuple[int, str]] = {}
    unverified = []
    for mid in ids:
        ticket_id = decode_message_id(mid)
        if ticket_id:
            found[mid] = (ticket_id, "our Message-ID")
        elif mid.startswith("<hd."):
            unverified.append(mid)  # ours under an older key, perhaps: ask the outbox
        elif (thread_id := osticket_thread(mid)) is not None:
            ticket_pk = (
                Ticket.objects.filter(thread_id=thread_id).values_list("pk", flat=True).first()
            )
            if ticket_pk is not None:
                found[mid] = (ticket_pk, "a Message-ID osTicket sent")
    if unverified:
        rows = OutboundMessage.objects.filter(message_id__in=unverified, ticket__isnull=False)
        for mid, ticket_id in rows.values_list("message_id", "ticket_id"):
            found.setdefault(mid, (ticket_id, "our Message-ID"))
    for mid, ticket_id in (received_ids(ids) if received is None else received).items():
        if mid in ids:
            found.setdefault(mid, (ticket_id, "a Message-ID we received"))
    for mid in ids:  # the newest reference that names a ticket wins
        if mid in found:
            ticket_id, how = found[mid]
            ticket = Ticket.objects.filter(pk=ticket_id).first()
            if ticket is not None:
                return Match(ticket, how)
    return Match(None)


def find_task(parsed: ParsedMessage, received: dict[str, int]) -> Task | None:
    """The task whose mail this message answers: In-Reply-To, then References (newest
    first), up to the first id that names a ticket (ours, or a message we received: the
    newest reference wins, as for tickets). `received`: received_ids() of the message."""
    for mid in parsed.thread_ids:
        task_id = decode_task_message_id(mid)
        if task_id is None and mid.startswith(TASK_PREFIX):  # under an older key, perhaps
            task_id = (
                OutboundMessage.objects.filter(message_id=mid, task__isnull=False)
                .values_list("task_id", flat=True)
                .first()
            )
        if task_id is not None:
            task = Task.objects.filter(pk=task_id).first()
            if task is not None:
                return task
            continue
        if decode_message_id(mid) or mid in received or _sent_about_ticket(mid):
            return None
    return None


def _sent_about_ticket(mid: str) -> bool:
    return mid.startswith("<hd.") and (
        OutboundMessage.objects.filter(message_id=mid, ticket__isnull=False).exists()
    )


def is_participant(ticket: Ticket, user) -> bool:
    """The requester, an active collaborator, or an agent who may see the ticket (the
    tickets selector decides). An organization's other members are not participants."""
    if user is None or not user.is_active:
        return False
    if user.pk == ticket.requester_id:
        return True
    if user.is_agent and user.is_active:
        return ticket_is_visible(user=user, ticket=ticket)
    return Collaborator.objects.filter(
        thread_id=ticket.thread_id, user_id=user.pk, is_active=True
    ).exists()


def _by_subject(subject: str, sender) -> Match:
    if sender is None:
        return Match(None)
    for number in SUBJECT_TAG.findall(subject or ""):
        ticket = Ticket.objects.filter(number=number).first()
        if ticket is not None and is_participant(ticket, sender):
            return Match(ticket, "subject tag")
    return Match(None)


def find_ticket(parsed: ParsedMessage, sender, received: dict[str, int] | None = None) -> Match:
    """The ticket this message continues, or Match(None) for a new ticket. `received`:
    the lookup of `received_ids` when the caller made it already."""
    match = _by_ids(parsed.thread_ids, received)
    if match.ticket is not None:
        return match
    return _by_subject(parsed.subject, sender)
