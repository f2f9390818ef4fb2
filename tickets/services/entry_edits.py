"""Editing and resending a ticket's thread entries (osTicket's thread entry actions).

Who may edit an entry (and read its edit history), as osTicket: an agent who sees the
ticket, on their own entries, as the manager of the ticket's department, or with
`thread.edit` in the ticket's department (tickets.permissions, MANAGER_EXTRAS).
System entries are never edited. A response was mailed to the client: it is only
edited together with a resend ("edit and resend"), which also needs `ticket.reply`.
Every edit keeps the text it replaced (threads.models.EntryRevision), in the same
transaction as the edit and its `edited` event.
"""

from django.db import transaction

from accounts.actors import Actor, is_agent
from accounts.errors import Conflict, NotVisible, PermissionRefused
from threads import services as threads
from threads.models import ThreadEntry, ThreadEvent

from .. import signals
from ..models import Ticket
from ..permissions import check, check_visible, ticket_permissions
from ._common import announce, channel_of, lock, record, save

EDIT_PERMISSION = "thread.edit"


def entry_of(ticket: Ticket, entry_id: int) -> ThreadEntry:
    """An entry of this ticket's thread (the caller has checked the ticket's visibility),
    or NotVisible."""
    entry = ThreadEntry.objects.filter(pk=entry_id, thread_id=ticket.thread_id).first()
    if entry is None:
        raise NotVisible("Entry not found.", code="entry_not_found")
    return entry


def edit_allowed(agent_id: int, granted: frozenset[str], entry: ThreadEntry) -> bool:
    """The rule itself, for an agent holding `granted` on the entry's ticket (the panel
    asks it for every entry of a thread without a query each): their own response or
    note, or any entry with thread.edit (which department managers hold there)."""
    own = entry.poster_id == agent_id and entry.kind != ThreadEntry.Kind.MESSAGE
    return own or EDIT_PERMISSION in granted


def entry_edit_refusal(
    actor: Actor, ticket: Ticket, entry: ThreadEntry
) -> PermissionRefused | None:
    """Why the actor may not edit this entry or read its history (None: they may).
    Visibility is the caller's: this only answers for an agent who sees the ticket."""
    if not is_agent(actor):
        return PermissionRefused("Only agents edit thread entries.", code="permission_denied")
    if edit_allowed(actor.pk, ticket_permissions(actor, ticket), entry):
        return None
    return PermissionRefused(
        f"Editing other people's entries in {ticket.department.name} needs the "
        f"{EDIT_PERMISSION} permission (or being the department's manager).",
        code="permission_denied",
        extra={"permission": EDIT_PERMISSION, "department_id": ticket.department_id},
    )


def may_edit_entry(actor: Actor, ticket: Ticket, entry: ThreadEntry) -> bool:
    return not entry.is_system and entry_edit_refusal(actor, ticket, entry) is None


def ticket_entry_edit(
    *,
    actor: Actor,
    ticket: Ticket,
    entry: ThreadEntry,
    body: str,
    title: str | None = None,
    resend: bool = False,
    channel: str | None = None,
) -> ThreadEntry:
    """Edit an entry's text (and a note's title); with `resend`, mail the corrected
    response to its recipients again. A response needs `resend` (edit and resend)."""
    channel = channel_of(actor, channel)
    check_visible(actor, ticket)
    if entry.thread_id != ticket.thread_id:
        raise NotVisible("Entry not found.", code="entry_not_found")
    if entry.is_system:
        raise Conflict("System entries cannot be edited.", code="entry_not_editable")
    refusal = entry_edit_refusal(actor, ticket, entry)
    if refusal is not None:
        raise refusal
    is_response = entry.kind == ThreadEntry.Kind.RESPONSE
    if is_response and not resend:
        raise Conflict(
            "A response was mailed to the client: edit it with “edit and resend”.",
            code="response_needs_resend",
        )
    if resend and not is_response:
        raise Conflict("Only responses are resent.", code="not_a_response")
    with transaction.atomic():
        t = lock(ticket)
        if resend:
            check(actor, "ticket.reply", t)
        current = ThreadEntry.objects.select_for_update().get(pk=entry.pk)
        revision = threads.entry_edit(
            entry=current,
            body=body,
            editor=actor,
            title=title if current.kind == ThreadEntry.Kind.NOTE else None,
        )
        record(t, ThreadEvent.Kind.EDITED, actor, channel, entry=current.pk, revision=revision.pk)
        if resend:
            _resend(t, current, actor, channel)
        save(t)
    return current


def ticket_entry_resend(
    *, actor: Actor, ticket: Ticket, entry: ThreadEntry, channel: str | None = None
) -> ThreadEntry:
    """Mail a response to its recipients again, as it reads now (osTicket's "Resend")."""
    channel = channel_of(actor, channel)
    check(actor, "ticket.reply", ticket)
    if entry.thread_id != ticket.thread_id:
        raise NotVisible("Entry not found.", code="entry_not_found")
    if entry.kind != ThreadEntry.Kind.RESPONSE:
        raise Conflict("Only responses are resent.", code="not_a_response")
    with transaction.atomic():
        t = lock(ticket)
        check(actor, "ticket.reply", t)
        _resend(t, entry, actor, channel)
        save(t)
    return entry


def _resend(ticket: Ticket, entry: ThreadEntry, actor: Actor, channel: str) -> None:
    record(ticket, ThreadEvent.Kind.RESENT, actor, channel, entry=entry.pk)
    announce(signals.ticket_reply_resent, ticket, actor, channel, entry=entry)
