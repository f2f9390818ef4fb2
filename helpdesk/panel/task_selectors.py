"""Reads of the task pages and of a ticket's tasks section. Visibility is never decided
here: every task read starts from `tickets.selectors.tasks_visible_to` (or
`task_get_for`), what an agent may do from `tickets.permissions.role_permissions` (the
role effective in the task's department, as `check_task` decides it)."""

from django.urls import reverse

from accounts.compiled import KeptSelect
from accounts.models import User
from helpdesk.display import dated, shown
from threads.html import inline_images
from threads.models import Attachment, ThreadEntry
from threads.selectors import draft_for, entry_list, event_list
from tickets.models import Task, TaskState, Ticket
from tickets.permissions import role_permissions
from tickets.selectors import task_get_for, ticket_is_visible
from tickets.services import active_lock, edit_permissions, may_break_lock

from .selectors import TimelineItem, any_role_allows, entry_actions

RELATED = ("department", "assignee", "team", "ticket")
BULK_PERMISSIONS = ("task.assign", "task.transfer", "task.close", "task.delete")


def task_for(user: User, number: str) -> Task:
    """A task the agent may see, or NotVisible (the views answer 404)."""
    return task_get_for(user=user, number=number)


def task_permissions(user: User, task: Task) -> frozenset[str]:
    """The task.* permissions the agent holds on a task they see (check_task's rule)."""
    return role_permissions(user, task.department_id, work=task)


class PermissionsOf:
    """task_permissions for many tasks, asked once per department and assignment (a
    list of tasks costs the same whatever its length)."""

    def __init__(self, user: User):
        self.user = user
        self.seen: dict[tuple, frozenset[str]] = {}

    def __call__(self, task: Task) -> frozenset[str]:
        key = (task.department_id, task.assignee_id, task.team_id)
        if key not in self.seen:
            self.seen[key] = task_permissions(self.user, task)
        return self.seen[key]


def bulk_permissions(user: User) -> set[str]:
    """Bulk task actions shown when any of the agent's roles grants them (osTicket)."""
    return {p for p in BULK_PERMISSIONS if any_role_allows(user, p)}


# --- a ticket's tasks -----------------------------------------------------------------------


def tasks_of_ticket(user: User, ticket: Ticket) -> list[Task]:
    """The ticket's tasks (deleted ones left out), each with `granted`, the agent's
    permissions on it: two queries at most, whatever their number. `ticket` is one the
    agent may see, so all its tasks are visible to them (tickets.selectors.tasks_visible_to
    lets an agent see the tasks of every ticket they see): no visibility condition here."""
    tasks: list[Task] = _KEPT_TASKS_OF_TICKET(ticket_id=ticket.pk)
    granted = PermissionsOf(user)
    for task in tasks:
        task.ticket = ticket
        shown(task, granted=granted(task))
    return tasks


# compiled once per process (accounts.compiled.KeptSelect)
_KEPT_TASKS_OF_TICKET = KeptSelect(
    lambda ticket_id: (
        Task.objects.filter(ticket_id=ticket_id)
        .exclude(state=TaskState.DELETED)
        .select_related("department", "assignee", "team")
        .order_by("created_at", "pk")
    )
)


def may_close_all(user: User, tasks: list[Task]) -> bool:
    """May the agent close every open one of these tasks, as closing their ticket "with
    its tasks" needs?"""
    granted = PermissionsOf(user)
    open_tasks = [t for t in tasks if t.state == TaskState.OPEN]
    return bool(open_tasks) and all("task.close" in granted(t) for t in open_tasks)


# --- the task page --------------------------------------------------------------------------


def task_attachment_url(task: Task, attachment: Attachment, *, inline: bool = False) -> str:
    url = reverse("panel:task_attachment", args=[task.number, attachment.pk, attachment.filename])
    return url + ("?inline=1" if inline else "")


def task_timeline(task: Task) -> list[TimelineItem]:
    """Updates and events in time order, in a number of queries independent of the thread."""
    items = []
    entries = entry_list(thread_ids=[task.thread_id], include_notes=True)
    dated(entries)
    for entry in entries:
        atts = entry.attachment_list
        urls = {
            a.content_id.strip("<>"): task_attachment_url(task, a, inline=True)
            for a in atts
            if a.content_id
        }
        shown(
            entry,
            display_html=inline_images(entry.body_html, urls),
            files=[
                (a, task_attachment_url(task, a), a.content_type.startswith("image/")) for a in atts
            ],
        )
        items.append(TimelineItem("entry", entry, entry.created_at))
    events = event_list(thread_id=task.thread_id, except_kinds=["note"])
    dated(events)
    items.extend(TimelineItem("event", event, event.created_at) for event in events)
    items.sort(key=lambda i: (i.at, 0 if i.kind == "entry" else 1, i.obj.pk))
    return items


def task_page(user: User, task: Task) -> dict:
    """Everything the task page shows."""
    lock = active_lock(task)
    ticket = task.ticket
    items = task_timeline(task)
    entry_actions(user, task, edit_permissions(user, task), items)  # edit, history
    return {
        "task": task,
        "granted": task_permissions(user, task),
        "ticket_visible": ticket is not None and ticket_is_visible(user=user, ticket=ticket),
        "timeline": items,
        "lock": lock,
        "locked_by_other": lock is not None and lock.agent_id != user.pk,
        "may_break_lock": may_break_lock(user, task),
        "draft_update": draft_for(agent=user, namespace=f"{task.draft_namespace}update"),
        "custom_values": list(
            task.field_values.select_related("field").order_by("field__sort", "field_id")
        ),
    }


def entry_of(ticket: Ticket, entry_id: int) -> ThreadEntry | None:
    """An entry of the ticket's own thread (a task is made from it), or None."""
    return ThreadEntry.objects.filter(pk=entry_id, thread_id=ticket.thread_id).first()
