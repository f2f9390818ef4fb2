"""Editing and resending the thread entries of a ticket or a task (osTicket's thread
entry actions).

Who may edit an entry (and read its edit history), as osTicket, on tickets and tasks
alike: an agent who sees the ticket or task, on their own entries, as the manager of its
department, or with `thread.edit` in its department (the role effective there,
tickets.permissions; MANAGER_EXTRAS). System entries are never edited; API keys and
clients never edit. A ticket's response was mailed to the client: it is only edited
together with a resend ("edit and resend"), which also needs `ticket.reply` (a task's
entries are all internal updates). Every edit keeps the text it replaced
(threads.models.EntryRevision), in the same transaction as the edit and its `edited`
event on the ticket's or task's thread, under the ticket's or task's row lock.
"""

from django.db import transaction

from accounts.actors import Actor, is_agent
from accounts.errors import Conflict, NotVisible, PermissionRefused
from threads import services as threads
from threads.models import ThreadEntry, ThreadEvent

from .. import signals
from ..models import Task, Ticket
from ..permissions import (
    check,
    check_task_visible,
    check_visible,
    role_permissions,
    ticket_permissions,
)
from ._common import Work, announce, channel_of, lock, record, save
from .tasks import lock_task

EDIT_PERMISSION = "thread.edit"


def entry_of(work: Work, entry_id: int) -> ThreadEntry:
    """An entry of this ticket's or task's thread (the caller has checked its
    visibility), or NotVisible."""
    entry = ThreadEntry.objects.filter(pk=entry_id, thread_id=work.thread_id).first()
    if entry is None:
        raise NotVisible("Entry not found.", code="entry_not_found")
    return entry


def edit_allowed(agent_id: int, granted: frozenset[str], entry: ThreadEntry) -> bool:
    """The rule itself, for an agent holding `granted` on the entry's ticket or task (the
    panel asks it for every entry of a thread without a query each): their own response
    or note, or any entry with thread.edit (which department managers hold there)."""
    own = entry.poster_id == agent_id and entry.kind != ThreadEntry.Kind.MESSAGE
    return own or EDIT_PERMISSION in granted


def edit_permissions(actor: Actor, work: Work) -> frozenset[str]:
    """The permissions `edit_allowed` looks at: the role effective in the ticket's or
    task's department, and thread.edit for that department's manager."""
    if isinstance(work, Ticket):
        return ticket_permissions(actor, work)
    granted = role_permissions(actor, work.department_id, work=work)
    if is_agent(actor) and work.department.manager_id == actor.pk:
        granted |= {EDIT_PERMISSION}
    return granted


def entry_edit_refusal(actor: Actor, work: Work, entry: ThreadEntry) -> PermissionRefused | None:
    """Why the actor may not edit this entry or read its history (None: they may).
    Visibility is the caller's: this only answers for an agent who sees the ticket or
    task."""
    if not is_agent(actor):
        return PermissionRefused("Only agents edit thread entries.", code="permission_denied")
    if edit_allowed(actor.pk, edit_permissions(actor, work), entry):
        return None
    return PermissionRefused(
        f"Editing other people's entries in {work.department.name} needs the "
        f"{EDIT_PERMISSION} permission (or being the department's manager).",
        code="permission_denied",
        extra={"permission": EDIT_PERMISSION, "department_id": work.department_id},
    )


def may_edit_entry(actor: Actor, work: Work, entry: ThreadEntry) -> bool:
    return not entry.is_system and entry_edit_refusal(actor, work, entry) is None


def _check_visible(actor: Actor, work: Work) -> None:
    if isinstance(work, Ticket):
        check_visible(actor, work)
    else:
        check_task_visible(actor, work)


def _lock(work: Work) -> Work:
    return lock(work) if isinstance(work, Ticket) else lock_task(work)


def entry_edit(
    *,
    actor: Actor,
    work: Work,
    entry: ThreadEntry,
    body: str,
    title: str | None = None,
    resend: bool = False,
    channel: str | None = None,
) -> ThreadEntry:
    """Edit an entry of a ticket's or task's thread (and a note's title); with `resend`,
    mail the corrected response to its recipients again. A ticket's response needs
    `resend` (edit and resend). The one implementation behind ticket_entry_edit and
    task_entry_edit."""
    channel = channel_of(actor, channel)
    _check_visible(actor, work)
    if entry.thread_id != work.thread_id:
        raise NotVisible("Entry not found.", code="entry_not_found")
    if entry.is_system:
        raise Conflict("System entries cannot be edited.", code="entry_not_editable")
    refusal = entry_edit_refusal(actor, work, entry)
    if refusal is not None:
        raise refusal
    is_response = entry.kind == ThreadEntry.Kind.RESPONSE
    if is_response and not resend:
        raise Conflict(
            "A response was mailed to the client: edit it with “edit and resend”.",
            code="response_needs_resend",
        )
    if resend and not (is_response and isinstance(work, Ticket)):
        raise Conflict("Only responses are resent.", code="not_a_response")
    with transaction.atomic():
        t = _lock(work)
        if resend:
            assert isinstance(t, Ticket)  # only a ticket's responses are resent
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
            assert isinstance(t, Ticket)
            _resend(t, current, actor, channel)
        save(t)
    return current


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
    """Edit an entry of the ticket's thread (entry_edit); a response only with `resend`."""
    return entry_edit(
        actor=actor,
        work=ticket,
        entry=entry,
        body=body,
        title=title,
        resend=resend,
        channel=channel,
    )


def task_entry_edit(
    *,
    actor: Actor,
    task: Task,
    entry: ThreadEntry,
    body: str,
    title: str | None = None,
    channel: str | None = None,
) -> ThreadEntry:
    """Edit an update of the task's thread (entry_edit)."""
    return entry_edit(actor=actor, work=task, entry=entry, body=body, title=title, channel=channel)


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
