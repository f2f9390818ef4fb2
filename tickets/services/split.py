"""Splitting: a new ticket from one thread entry (osTicket's "create ticket from this
entry"), cross-linked with the ticket it came from."""

from django.db import transaction

from accounts.actors import Actor, is_agent, is_api_key, is_system
from accounts.bus import send_on_commit
from accounts.errors import NotVisible, PermissionRefused
from accounts.models import User
from routing.models import Department, HelpTopic
from threads.models import Attachment, ThreadEntry, ThreadEvent

from .. import signals
from ..models import Priority, State, Ticket, TicketLink
from ..permissions import check_visible
from ._common import channel_of, lock, record, require_state, save
from .opening import NewTicket, ticket_open
from .relations import ref_ticket


def default_requester(entry: ThreadEntry, ticket: Ticket) -> User:
    """osTicket seeds the new ticket with the entry's author when a client wrote it (a
    collaborator's message becomes their own ticket); otherwise the ticket's requester."""
    poster = entry.poster
    if poster is not None and not poster.is_agent and poster.is_active:
        return poster
    return ticket.requester


def _body(entry: ThreadEntry, ticket: Ticket) -> tuple[str, str]:
    if not entry.body_text.strip():  # attachments only: the files come by reference
        return f"Created from an entry of ticket #{ticket.number}.", ThreadEntry.Format.TEXT
    if entry.format == ThreadEntry.Format.HTML:
        return entry.body_html, ThreadEntry.Format.HTML
    return entry.body_text, ThreadEntry.Format.TEXT


def _copy_attachments(entry: ThreadEntry, to_thread_id: int) -> int:
    """The entry's files on the new ticket's first message, by reference: the stored
    file is shared (content-addressed), only the attachment rows are new. Inline images
    come too, so the body's cid: references still resolve."""
    first = ThreadEntry.objects.filter(thread_id=to_thread_id).order_by("id").first()
    rows = Attachment.objects.bulk_create(
        Attachment(
            entry=first,
            file_id=a.file_id,
            filename=a.filename,
            content_type=a.content_type,
            inline=a.inline,
            content_id=a.content_id,
        )
        for a in entry.attachments.all()
    )
    return len(rows)


def ticket_split(
    *,
    actor: Actor,
    ticket: Ticket,
    entry: ThreadEntry,
    subject: str,
    requester: User | None = None,
    department: Department | None = None,
    topic: HelpTopic | None = None,
    priority: Priority | None = None,
    autorespond: bool = True,
    alert: bool = True,
    channel: str | None = None,
) -> Ticket:
    """Open a new ticket from `entry` of `ticket` and cross-link both; returns the new one.

    The agent must see the ticket and hold `ticket.create` in the new ticket's
    department (ticket_open decides that). The new ticket's first message is the
    entry's body with its attachments; its requester is `requester`, or the entry's
    author when a client wrote it, else the ticket's requester; its department is
    `department`, or the help topic's, or the ticket's. Both tickets are linked and get
    a `split` event naming the other (and the entry).
    """
    channel = channel_of(actor, channel)
    if not (is_agent(actor) or is_system(actor) or is_api_key(actor)):
        raise PermissionRefused(
            "Only agents and API keys create tickets from a thread entry.",
            code="permission_denied",
        )
    check_visible(actor, ticket)
    if entry.thread_id != ticket.thread_id:
        raise NotVisible("Entry not found.", code="entry_not_found")
    body, fmt = _body(entry, ticket)
    with transaction.atomic():
        source = lock(ticket)
        require_state(source, State.OPEN, State.CLOSED, action="be split")
        new = ticket_open(
            actor=actor,
            new=NewTicket(
                requester=requester or default_requester(entry, source),
                subject=subject,
                body=body,
                fmt=fmt,
                source=source.source,
                topic=topic,
                department=department or (None if topic is not None else source.department),
                priority=priority,
                channel=channel,
                language=source.language,  # the split-off part is in the same language
                autorespond=autorespond,
                alert=alert,
            ),
        )
        files = _copy_attachments(entry, new.thread_id)
        low, high = sorted((source.pk, new.pk))
        TicketLink.objects.get_or_create(low_id=low, high_id=high)
        common = {"entry": entry.pk, "files": files}
        record(source, ThreadEvent.Kind.SPLIT, actor, channel, other=ref_ticket(new), **common)
        record(new, ThreadEvent.Kind.SPLIT, actor, channel, other=ref_ticket(source), **common)
        save(source)
        send_on_commit(
            signals.ticket_split,
            sender=Ticket,
            ticket=source,
            actor=actor,
            channel=channel,
            entry=entry,
            new_ticket=new,
        )
    return new
