"""Posting to a ticket's thread: client messages, agent responses, internal notes."""

from collections.abc import Sequence
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from accounts import permissions as perms
from accounts.actors import actor_user, is_agent, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused
from threads import services as threads
from threads.models import ThreadEntry, ThreadEvent
from threads.services import NewAttachment

from .. import signals
from ..models import HelpdeskSettings, MergeMode, State, Ticket, TicketStatus
from ..permissions import check, check_visible
from ._common import channel_of, lock, record, ref, require_state, save
from .locks import release_own_lock, require_unlocked
from .status import announce_status, apply_status, authorize_status

MAX_MERGE_HOPS = 10


class Posted(NamedTuple):
    ticket: Ticket
    entry: ThreadEntry


def _surviving(ticket: Ticket) -> Ticket:
    """A message to a merged ticket (combined or separate) goes to the ticket it was
    merged into; a linked child takes its own messages. Read from the database: the
    caller's copy may predate the merge."""
    pk = ticket.pk
    for _ in range(MAX_MERGE_HOPS):
        parent_id, mode = (
            Ticket.objects.filter(pk=pk).values_list("merged_into_id", "merge_mode").get()
        )
        if parent_id is None or mode == MergeMode.LINK:
            break
        pk = parent_id
    return ticket if pk == ticket.pk else Ticket.objects.get(pk=pk)


def _reopen_status(ticket: Ticket, config: HelpdeskSettings) -> TicketStatus | None:
    return ticket.status.reopen_status or config.default_status


def ticket_post_message(
    *,
    actor,
    ticket: Ticket,
    body: str,
    fmt: str = ThreadEntry.Format.TEXT,
    files: Sequence[NewAttachment] = (),
    poster=None,
    source: str = ThreadEntry.Source.WEB,
    channel: str | None = None,
    message_id: str = "",
    email_headers: str = "",
    recipients: dict | None = None,
    ip_address: str | None = None,
) -> Posted:
    """A message from the client (or, through the system actor, from whoever mailed in).

    Clears the answered flag; reopens a closed ticket when its status allows (osTicket),
    otherwise refuses with code ticket_closed so the channel can decide what to do.
    """
    channel = channel_of(actor, channel)
    if is_agent(actor):
        raise PermissionRefused("Agents post responses or internal notes, not client messages.")
    check_visible(actor, ticket)
    ticket = _surviving(ticket)
    config = HelpdeskSettings.load()
    stored = threads.files_store(list(files))
    with transaction.atomic():
        t = lock(ticket)
        require_state(t, State.OPEN, State.CLOSED, action="receive messages")
        now = timezone.now()
        fields = ["last_message_at", "is_answered"]
        previous = t.status
        reopened = t.state == State.CLOSED
        if reopened:
            target = _reopen_status(t, config)
            if not (t.status.allow_reopen and target is not None):
                raise Conflict(
                    f"Ticket #{t.number} is closed and cannot be reopened.", code="ticket_closed"
                )
            fields += apply_status(t, target, actor=actor, channel=channel, config=config)
        entry = threads.entry_create(
            thread_id=t.thread_id,
            kind=ThreadEntry.Kind.MESSAGE,
            body=body,
            fmt=fmt,
            poster=poster or actor_user(actor) or t.requester,
            source=source,
            files=stored,
            message_id=message_id,
            email_headers=email_headers,
            recipients=recipients,
            ip_address=ip_address,
        )
        t.last_message_at, t.is_answered = now, False
        record(t, ThreadEvent.Kind.MESSAGE, actor, channel, entry=entry.pk)
        save(t, *fields)
        send_on_commit(
            signals.ticket_message_posted,
            sender=Ticket,
            ticket=t,
            entry=entry,
            actor=actor,
            channel=channel,
            reopened=reopened,
        )
        if reopened:
            announce_status(t, actor=actor, channel=channel, previous=previous)
    return Posted(t, entry)


def ticket_post_reply(
    *,
    actor,
    ticket: Ticket,
    body: str,
    fmt: str = ThreadEntry.Format.TEXT,
    files: Sequence[NewAttachment] = (),
    status: TicketStatus | None = None,
    recipients: dict | None = None,
    source: str = ThreadEntry.Source.WEB,
    channel: str | None = None,
    message_id: str = "",
    expected_version: int | None = None,
) -> Posted:
    """An agent's response to the client; may change the status in the same step.

    A closed ticket takes a reply only together with a status that reopens it.
    """
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    stored = threads.files_store(list(files))
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.reply", t)
        require_unlocked(t, actor)
        previous = t.status
        change = status is not None and status.pk != t.status_id
        if change:
            authorize_status(actor, t, status, config)
        reopens = change and status.state == State.OPEN
        if t.state != State.OPEN and not reopens:
            raise Conflict(
                f"Ticket #{t.number} is {t.get_state_display().lower()}: reopen it to reply.",
                code=f"ticket_{t.state}",
            )
        fields = ["last_response_at", "is_answered"]
        if reopens:
            fields += apply_status(t, status, actor=actor, channel=channel, config=config)
        entry = threads.entry_create(
            thread_id=t.thread_id,
            kind=ThreadEntry.Kind.RESPONSE,
            body=body,
            fmt=fmt,
            poster=actor,
            source=source,
            files=stored,
            recipients=recipients,
            message_id=message_id,
        )
        t.last_response_at, t.is_answered = timezone.now(), True
        record(t, ThreadEvent.Kind.RESPONSE, actor, channel, entry=entry.pk)
        claimed = _claim_on_reply(t, actor, channel)
        if claimed:
            fields.append("assignee")
        if change and not reopens:
            fields += apply_status(t, status, actor=actor, channel=channel, config=config)
        save(t, *fields)
        release_own_lock(t, actor)
        send_on_commit(
            signals.ticket_reply_posted,
            sender=Ticket,
            ticket=t,
            entry=entry,
            actor=actor,
            channel=channel,
        )
        if claimed:
            send_on_commit(
                signals.ticket_assigned,
                sender=Ticket,
                ticket=t,
                actor=actor,
                channel=channel,
                agent=actor,
                team=t.team,
                claimed=True,
                previous_agent=None,
                previous_team=t.team,
            )
        if change:
            announce_status(t, actor=actor, channel=channel, previous=previous)
    return Posted(t, entry)


def _claim_on_reply(t: Ticket, actor, channel: str) -> bool:
    """osTicket's "claim on response": an agent answering an unassigned open ticket of a
    department that wants it becomes the assignee (if they may be assigned there)."""
    dept = t.department
    if not (
        is_agent(actor) and t.state == State.OPEN and t.assignee_id is None and dept.claim_on_reply
    ):
        return False
    if dept.assign_members_only and dept.pk not in perms.department_ids(actor):
        return False
    t.assignee = actor
    record(
        t,
        ThreadEvent.Kind.ASSIGNED,
        actor,
        channel,
        agent=ref(actor),
        team=ref(t.team),
        claimed=True,
        auto=True,
    )
    return True


def ticket_post_note(
    *,
    actor,
    ticket: Ticket,
    body: str,
    title: str = "",
    fmt: str = ThreadEntry.Format.TEXT,
    files: Sequence[NewAttachment] = (),
    source: str = ThreadEntry.Source.WEB,
    channel: str | None = None,
    is_system_note: bool = False,
) -> Posted:
    """An internal note: agents who can see the ticket (osTicket needs no more), or the system."""
    channel = channel_of(actor, channel)
    if not (is_agent(actor) or is_system(actor)):
        raise PermissionRefused("Only agents post internal notes.", code="permission_denied")
    check_visible(actor, ticket)
    stored = threads.files_store(list(files))
    with transaction.atomic():
        t = lock(ticket)
        require_state(t, State.OPEN, State.CLOSED, State.ARCHIVED, action="take notes")
        entry = threads.entry_create(
            thread_id=t.thread_id,
            kind=ThreadEntry.Kind.NOTE,
            body=body,
            fmt=fmt,
            title=title,
            poster=actor,
            source=source,
            files=stored,
            is_system=is_system_note or is_system(actor),
        )
        record(t, ThreadEvent.Kind.NOTE, actor, channel, entry=entry.pk)
        save(t)
        send_on_commit(
            signals.ticket_note_posted,
            sender=Ticket,
            ticket=t,
            entry=entry,
            actor=actor,
            channel=channel,
        )
    return Posted(t, entry)
