"""Tasks: work items inside a ticket or standalone (osTicket's tasks). The only way a
task changes.

Every function follows the ticket services' rules (tickets.services): keyword
arguments, the acting `actor` (an agent, an API key or the system: clients never see
tasks), the permission checked inside (tickets.permissions.check_task: the role
effective in the task's department), one transaction holding the task's row lock (two
agents claiming at once: one wins; a caller passing the version it read gets
StaleVersion when the task moved on), an event on the task's thread, and a signal after
commit. A task of a ticket also leaves a line on the ticket's thread when it is created,
closed, reopened or deleted; its creation and the ticket's close guard
(tickets.services.status.close_refusal) both hold the ticket's row lock, so a ticket
never closes with a task opened beside it.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, actor_user, is_agent, is_api_key, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import User
from routing.models import Department, Team
from threads import services as threads
from threads.models import Lock, StoredFile, ThreadEntry, ThreadEvent
from threads.services import NewAttachment

from .. import customfields, signals
from ..config import Snapshot
from ..models import (
    CustomField,
    CustomForm,
    HelpdeskSettings,
    State,
    Task,
    TaskFieldValue,
    TaskState,
    Ticket,
)
from ..numbers import next_task_number
from ..permissions import check_key_department, check_task, check_task_create, check_task_visible
from . import locks
from ._common import (
    UNSET,
    Unset,
    channel_of,
    clean_title,
    insert_numbered,
    lock,
    lock_row,
    record,
    ref,
    require_state,
    save,
)
from .assignment import (
    claim,
    reassign,
    require_choice,
    require_claimable,
    unassign,
    validate_assignee,
    validate_department,
    validate_team,
    validate_transfer,
)

# --- shared steps -------------------------------------------------------------------------


def lock_task(task: Task | int, expected_version: int | None = None) -> Task:
    """Re-read the task with its row locked until the transaction ends (lock_row)."""
    pk = task.pk if isinstance(task, Task) else task
    return lock_row(Task.objects.all(), pk, ("department", "assignee", "team"), expected_version)


def ref_task(task: Task) -> dict[str, Any]:
    return {"id": task.pk, "number": task.number, "title": task.title}


def _ticket_line(
    task: Task, kind: str, actor: Actor, channel: str, locked: Ticket | None = None
) -> None:
    """The line a task leaves on its ticket's thread ("task #12 created by ..."). With
    `locked` (the ticket, row locked by the caller) the caller saves it."""
    if task.ticket_id is None:
        return
    t = locked or lock(task.ticket_id)
    record(t, kind, actor, channel, task=ref_task(task))
    if locked is None:
        save(t)


def _require_open(task: Task, action: str) -> None:
    if task.state != TaskState.OPEN:
        raise Conflict(
            f"Task #{task.number} is {task.get_state_display().lower()}: cannot {action}.",
            code=f"task_{task.state}",
        )


def _announce(sig: Any, task: Task, actor: Actor, channel: str, **extra: Any) -> None:
    send_on_commit(sig, sender=Task, task=task, actor=actor, channel=channel, **extra)


def _only_staff(actor: Actor, action: str) -> None:
    if not (is_agent(actor) or is_api_key(actor) or is_system(actor)):
        raise PermissionRefused(f"Only agents {action}.", code="permission_denied")


def task_fields() -> list[CustomField]:
    """The fields asked on every task: those of the active task forms."""
    return list(
        CustomField.objects.filter(form__scope=CustomForm.Scope.TASK, form__is_active=True)
        .select_related("form")
        .order_by("form__sort", "form_id", "sort", "id")
    )


# --- create ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTask:
    """What a new task is made of. `ticket` makes it the ticket's task; `entry` (an entry
    of that ticket's thread) makes it osTicket's "Create task" from that entry: its text
    and attachments become the description unless one is given."""

    title: str
    description: str = ""
    fmt: str = ThreadEntry.Format.TEXT
    department: Department | None = None
    assignee: User | None = None
    team: Team | None = None
    due_at: dt.datetime | None = None
    ticket: Ticket | None = None
    entry: ThreadEntry | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    files: Sequence[NewAttachment] = ()
    source: str = ThreadEntry.Source.WEB


def task_create(*, actor: Actor, new: NewTask, channel: str | None = None) -> Task:
    """Open a task: its department is the one given, else its ticket's, else the
    settings' default task department."""
    channel = channel_of(actor, channel)
    _only_staff(actor, "create tasks")
    config = HelpdeskSettings.load()
    title = clean_title(new.title)
    ticket = new.ticket
    if new.entry is not None and (ticket is None or new.entry.thread_id != ticket.thread_id):
        raise ValidationFailed(
            "The entry is not one of this ticket's.",
            code="entry_not_in_ticket",
            fields={"entry": ["Not an entry of this ticket."]},
        )
    department = new.department or (ticket.department if ticket is not None else None)
    department = department or Snapshot(config).department(config.default_task_department_id)
    if department is None:
        raise ValidationFailed(
            "Choose a department for the task.",
            code="department_required",
            fields={"department": ["This field is required."]},
        )
    validate_department(department)
    check_task_create(actor, department, ticket)
    if new.assignee is not None:
        validate_assignee(new.assignee, department)
    if new.team is not None:
        validate_team(new.team)
    values = customfields.clean_values(task_fields(), dict(new.custom_fields))
    body, fmt, files = _description(new)
    stored = threads.files_store(list(new.files)) + files
    with transaction.atomic():
        if ticket is not None:  # held until commit: the ticket's close guard waits
            ticket = lock(ticket)
            require_state(ticket, State.OPEN, action="take new tasks")
        task = Task(
            title=title,
            ticket=ticket,
            department=department,
            assignee=new.assignee,
            team=new.team,
            due_at=new.due_at,
            thread=threads.thread_create(),
            created_by=actor_user(actor),
        )
        insert_numbered(task, lambda: next_task_number(config))
        entry = None
        if body or stored:
            entry = threads.entry_create(
                thread_id=task.thread_id,
                kind=ThreadEntry.Kind.NOTE,
                body=body,
                fmt=fmt,
                title=title,
                poster=actor,
                source=new.source,
                files=stored,
            )
        TaskFieldValue.objects.bulk_create(
            TaskFieldValue(task=task, field=f, value=v) for f, v in values.items()
        )
        record(
            task,
            ThreadEvent.Kind.CREATED,
            actor,
            channel,
            ticket=ticket.number if ticket is not None else None,
            entry=new.entry.pk if new.entry is not None else None,
            department=ref(department),
            agent=ref(new.assignee),
            team=ref(new.team),
        )
        if ticket is not None:
            _ticket_line(task, ThreadEvent.Kind.TASK_CREATED, actor, channel, locked=ticket)
            save(ticket)
        _announce(signals.task_created, task, actor, channel, entry=entry)
        if new.assignee is not None or new.team is not None:
            _announce_assignment(task, actor, channel, None, None)
    return task


def _description(new: NewTask) -> tuple[str, str, list[tuple[NewAttachment, StoredFile]]]:
    """The first entry's body, format and (already stored) files."""
    if new.entry is None or new.description.strip():
        return new.description, new.fmt, []
    files = [
        (
            NewAttachment(
                filename=a.filename,
                content=b"",
                content_type=a.content_type,
                inline=a.inline,
                content_id=a.content_id,
            ),
            a.file,
        )
        for a in new.entry.attachments.select_related("file")
    ]
    return new.entry.body_html, ThreadEntry.Format.HTML, files


# --- edit, assign, transfer --------------------------------------------------------------


def task_edit(
    *,
    actor: Actor,
    task: Task,
    title: str | Unset = UNSET,
    due_at: dt.datetime | Unset | None = UNSET,
    custom_fields: Mapping[str, Any] | None = None,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Task:
    """Change the title, the due date (None clears it) or the task form's fields."""
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock_task(task, expected_version)
        check_task(actor, "task.edit", t)
        _require_open(t, "edit")
        changes: dict[str, list[Any]] = {}
        if not isinstance(title, Unset):
            cleaned = clean_title(title)
            if cleaned != t.title:
                changes["title"], t.title = [t.title, cleaned], cleaned
        if not isinstance(due_at, Unset) and due_at != t.due_at:
            changes["due_at"] = [_iso(t.due_at), _iso(due_at)]
            t.due_at, t.is_overdue = due_at, False
        if custom_fields:
            changes |= _set_fields(t, custom_fields)
        if not changes:
            return t
        record(t, ThreadEvent.Kind.EDITED, actor, channel, changes=changes)
        save(t, "title", "due_at", "is_overdue")
        _announce(signals.task_edited, t, actor, channel, changes=changes)
    return t


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _set_fields(task: Task, submitted: Mapping[str, Any]) -> dict[str, list[Any]]:
    known = [f for f in task_fields() if f.name in submitted]
    cleaned = customfields.clean_values(known, dict(submitted))
    current = {v.field_id: v for v in task.field_values.all()}
    changes = {}
    for f, value in cleaned.items():
        old = current.get(f.pk)
        if old is not None and old.value == value:
            continue
        changes[f"field.{f.name}"] = [old.value if old else "", value]
        TaskFieldValue.objects.update_or_create(task=task, field=f, defaults={"value": value})
    return changes


def task_assign(
    *,
    actor: Actor,
    task: Task,
    agent: User | None = None,
    team: Team | None = None,
    comment: str = "",
    channel: str | None = None,
    expected_version: int | None = None,
) -> Task:
    """Assign to an agent and/or a team (replacing what is given, keeping the other)."""
    channel = channel_of(actor, channel)
    require_choice(agent, team)
    with transaction.atomic():
        t = lock_task(task, expected_version)
        check_task(actor, "task.assign", t)
        _require_open(t, "assign")
        previous = reassign(t, agent, team, actor=actor, channel=channel, comment=comment)
        if previous is not None:
            _announce_assignment(t, actor, channel, *previous)
    return t


def task_claim(*, actor: Actor, task: Task, channel: str | None = None) -> Task:
    """Self-assign an open task no agent holds; of two agents claiming at once exactly
    one wins, the other gets a conflict naming the winner."""
    channel = channel_of(actor, channel)
    if not is_agent(actor):
        raise PermissionRefused("Only agents claim tasks.", code="permission_denied")
    with transaction.atomic():
        t = lock_task(task)
        check_task(actor, "task.assign", t)
        _require_open(t, "claim")
        require_claimable(t, actor)
        claim(t, actor, channel)
        save(t, "assignee")
        _announce_assignment(t, actor, channel, None, t.team, claimed=True)
    return t


def _announce_assignment(
    t: Task,
    actor: Actor,
    channel: str,
    previous_agent: User | None,
    previous_team: Team | None,
    *,
    claimed: bool = False,
) -> None:
    _announce(
        signals.task_assigned,
        t,
        actor,
        channel,
        agent=t.assignee,
        team=t.team,
        claimed=claimed,
        previous_agent=previous_agent,
        previous_team=previous_team,
    )


def task_release(
    *,
    actor: Actor,
    task: Task,
    agent: bool = True,
    team: bool = True,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Task:
    """Drop the agent and/or team assignment (osTicket's task.assign covers it)."""
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock_task(task, expected_version)
        check_task(actor, "task.assign", t)
        previous_agent, previous_team = unassign(
            t, agent=agent, team=team, actor=actor, channel=channel
        )
        _announce(
            signals.task_released,
            t,
            actor,
            channel,
            previous_agent=previous_agent,
            previous_team=previous_team,
        )
    return t


def task_transfer(
    *,
    actor: Actor,
    task: Task,
    department: Department,
    comment: str = "",
    channel: str | None = None,
    expected_version: int | None = None,
) -> Task:
    """Move an open task to another department (an API key: only into its write scope).
    An agent who may not hold tasks there loses the assignment, as osTicket's transfer."""
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock_task(task, expected_version)
        check_task(actor, "task.transfer", t)
        check_key_department(actor, department, "task.transfer")
        _require_open(t, "transfer")
        validate_transfer(department, t)
        previous = t.department
        t.department = department
        released = None
        if t.assignee is not None:
            try:
                validate_assignee(t.assignee, department)
            except ValidationFailed:
                released, t.assignee = t.assignee, None
        record(
            t,
            ThreadEvent.Kind.TRANSFERRED,
            actor,
            channel,
            before=ref(previous),
            after=ref(department),
            released_agent=ref(released),
            comment=comment,
        )
        save(t, "department", "assignee")
        _announce(
            signals.task_transferred,
            t,
            actor,
            channel,
            previous_department=previous,
            department=department,
        )
    return t


# --- updates ------------------------------------------------------------------------------


def task_post_update(
    *,
    actor: Actor,
    task: Task,
    body: str,
    title: str = "",
    fmt: str = ThreadEntry.Format.TEXT,
    files: Sequence[NewAttachment] = (),
    source: str = ThreadEntry.Source.WEB,
    channel: str | None = None,
) -> ThreadEntry:
    """Post an update on the task's thread: internal, for agents (osTicket's "post task
    update", task.reply). Refused while another agent holds the task's lock; posting
    drops the poster's own lock and draft."""
    channel = channel_of(actor, channel)
    _only_staff(actor, "post task updates")
    check_task(actor, "task.reply", task)
    stored = threads.files_store(list(files))
    with transaction.atomic():
        t = lock_task(task)
        check_task(actor, "task.reply", t)
        if t.state == TaskState.DELETED:
            _require_open(t, "take updates")
        locks.require_unlocked(t, actor)
        entry = threads.entry_create(
            thread_id=t.thread_id,
            kind=ThreadEntry.Kind.NOTE,
            body=body,
            fmt=fmt,
            title=title,
            poster=actor,
            source=source,
            files=stored,
        )
        record(t, ThreadEvent.Kind.NOTE, actor, channel, entry=entry.pk)
        save(t)
        locks.release_own_lock(t, actor)
        if is_agent(actor):
            threads.draft_delete(agent=actor, namespace=f"{t.draft_namespace}update")
        _announce(signals.task_note_posted, t, actor, channel, entry=entry)
    return entry


# --- close, reopen, delete --------------------------------------------------------------


def task_close(
    *,
    actor: Actor,
    task: Task,
    comment: str = "",
    channel: str | None = None,
    expected_version: int | None = None,
) -> Task:
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock_task(task, expected_version)
        check_task(actor, "task.close", t)
        _require_open(t, "close")
        close_locked(t, actor=actor, channel=channel, comment=comment)
    return t


def close_locked(
    t: Task, *, actor: Actor, channel: str, comment: str = "", ticket: Ticket | None = None
) -> None:
    """Close a locked open task whose closing the caller has authorized (task_close, and
    a ticket closing together with its tasks, which passes that ticket, locked, and
    saves it)."""
    t.state, t.closed_at, t.is_overdue = TaskState.CLOSED, timezone.now(), False
    threads.drafts_delete(namespace_prefix=t.draft_namespace)
    record(t, ThreadEvent.Kind.CLOSED, actor, channel, comment=comment)
    save(t, "state", "closed_at", "is_overdue")
    _ticket_line(t, ThreadEvent.Kind.TASK_CLOSED, actor, channel, locked=ticket)
    _announce(signals.task_closed, t, actor, channel)


def task_reopen(
    *,
    actor: Actor,
    task: Task,
    comment: str = "",
    channel: str | None = None,
    expected_version: int | None = None,
) -> Task:
    """Reopen a closed task; a task of a closed ticket stays closed (reopen the ticket)."""
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock_task(task, expected_version)
        check_task(actor, "task.close", t)
        if t.state != TaskState.CLOSED:
            raise Conflict(f"Task #{t.number} is not closed.", code=f"task_{t.state}")
        if t.ticket_id is not None:
            ticket = lock(t.ticket_id)
            if ticket.state != State.OPEN:
                raise Conflict(
                    f"Ticket #{ticket.number} is {ticket.get_state_display().lower()}: "
                    "reopen it before its tasks.",
                    code=f"ticket_{ticket.state}",
                )
        t.state, t.closed_at = TaskState.OPEN, None
        record(t, ThreadEvent.Kind.REOPENED, actor, channel, comment=comment)
        save(t, "state", "closed_at")
        _ticket_line(t, ThreadEvent.Kind.TASK_REOPENED, actor, channel)
        _announce(signals.task_reopened, t, actor, channel)
    return t


def task_delete(
    *, actor: Actor, task: Task, channel: str | None = None, expected_version: int | None = None
) -> Task:
    """Delete a task (soft: hidden from all but admins, its thread kept)."""
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock_task(task, expected_version)
        check_task(actor, "task.delete", t)
        if t.state == TaskState.DELETED:
            raise Conflict(f"Task #{t.number} is already deleted.", code="task_deleted")
        previous = t.state
        t.state = TaskState.DELETED
        threads.drafts_delete(namespace_prefix=t.draft_namespace)
        record(t, ThreadEvent.Kind.DELETED, actor, channel, previous_state=previous)
        save(t, "state")
        _ticket_line(t, ThreadEvent.Kind.TASK_DELETED, actor, channel)
        _announce(signals.task_deleted, t, actor, channel)
    return t


# --- locks ------------------------------------------------------------------------------


def task_lock_acquire(*, actor: Actor, task: Task, break_lock: bool = False) -> Lock | None:
    """Take or renew the lock on a task for `actor` (tickets.services.locks)."""
    return locks.acquire(
        actor, task, break_lock=break_lock, visible=check_task_visible, relock=lock_task
    )


def task_lock_release(*, actor: Actor, task: Task) -> bool:
    return locks.release_own_lock(task, actor)
