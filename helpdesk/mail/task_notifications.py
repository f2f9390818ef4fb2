"""Who hears about a task (osTicket's six task templates): agents only, never a client,
never the agent who acted.

Called from Celery (`task_notify_task`) with ids, after the change committed, as the
ticket alerts are (notifications.py): the recipients come from the task department's
mail settings (`DepartmentMailSettings.task_*`), minus agents who turned that alert off
in their panel profile and agents who may not see the task (osTicket checks the same);
each gets one mail through `outbound.queue(task=...)`, deduplicated by event, so a
retried task sends nothing twice. The task's collaborators (agents following its thread)
get the activity notice for an update, unless an alert about it reaches them already.
"""

from collections.abc import Callable, Iterable
from typing import Any

from accounts.models import User
from helpdesk.alerts.services import alerts_record
from threads.models import ThreadEntry
from tickets.models import Task, TaskState
from tickets.selectors import task_is_visible

from . import outbound
from .notifications import (
    _agent_context,
    _unique,
    _wants,
    admins,
    assigned,
    dept_settings,
    manager,
    members,
)
from .scope import mail_settings, unit_of_work


def _send(
    template: str,
    people: Iterable[User | None],
    task: Task,
    key: str,
    *,
    entry: ThreadEntry | None = None,
    context: dict | None = None,
    exclude_ids: Iterable[int | None] = (),
) -> list[User]:
    """Record the in-panel alert for each agent in `people` who may see the task, and
    queue `template` for those of them who want the mail; returns those it was queued
    for."""
    reached = []
    allowed = [
        p for p in _unique(people, exclude_ids=exclude_ids) if task_is_visible(user=p, task=task)
    ]
    actor = (context or {}).get("agent") or {}
    alerts_record(
        kind=template,
        recipients=allowed,
        event_key=key,
        task=task,
        actor_name=actor.get("name") or (entry.poster_name if entry else ""),
    )
    for person in allowed:
        if not _wants(person, template):
            continue
        row = outbound.queue(
            template=template,
            recipient=person,
            ticket=None,
            task=task,
            event_key=key,
            entry=entry,
            context=context,
        )
        if row is not None:
            reached.append(person)
    return reached


def last_respondent(task: Task, entry: ThreadEntry | None = None) -> list[User]:
    """The agent who posted last on the task's thread (before `entry`)."""
    entries = ThreadEntry.objects.filter(
        thread_id=task.thread_id, is_system=False, poster__is_agent=True
    )
    if entry is not None:
        entries = entries.exclude(pk=entry.pk)
    last = entries.select_related("poster").order_by("-id").first()
    poster = last.poster if last is not None else None
    return [poster] if poster is not None and poster.is_active else []


def collaborators(task: Task) -> list[User]:
    """The task's active collaborators who are agents (tasks never mail a client)."""
    return list(
        User.objects.filter(
            collaborations__thread_id=task.thread_id,
            collaborations__is_active=True,
            is_agent=True,
            is_active=True,
        ).order_by("pk")
    )


def task_created(task: Task, entry: ThreadEntry | None = None, *, actor_id=None, **_) -> None:
    dept = dept_settings(task.department)
    if not dept.task_alert:
        return
    people: list[User] = []
    people += admins() if dept.task_alert_admins else []
    people += manager(task.department) if dept.task_alert_manager else []
    people += members(task.department) if dept.task_alert_members else []
    _send(
        "task.alert",
        people,
        task,
        f"task-created:{task.pk}",
        entry=entry,
        context=_agent_context(actor_id),
        exclude_ids=[actor_id],
    )


def task_update_posted(task: Task, entry: ThreadEntry, *, actor_id=None, **_) -> None:
    """The activity alert (per department settings) and the activity notice to the task's
    collaborators (MailSettings.activity_notice), never to the poster."""
    if entry.is_system:
        return
    dept = dept_settings(task.department)
    key = f"task-update:{entry.pk}"
    exclude = [entry.poster_id, actor_id]
    alerted: list[User] = []
    if dept.task_activity_alert:
        people: list[User] = []
        people += last_respondent(task, entry) if dept.task_activity_last_respondent else []
        people += assigned(task) if dept.task_activity_assigned else []
        people += manager(task.department) if dept.task_activity_manager else []
        alerted = _send("task.activity.alert", people, task, key, entry=entry, exclude_ids=exclude)
    if mail_settings().activity_notice:
        exclude += [person.pk for person in alerted]
        _send(
            "task.activity.notice", collaborators(task), task, key, entry=entry, exclude_ids=exclude
        )


def task_assigned(
    task: Task, *, nonce, actor_id=None, agent_id=None, team_id=None, changed=(), **_
) -> None:
    """To the agent newly assigned and the team newly assigned (its lead, its members)."""
    dept = dept_settings(task.department)
    if not dept.task_assignment_alert:
        return
    agent, team = task.assignee, task.team
    people: list[User | None] = []
    if dept.task_assignment_agent and "agent" in changed and task.assignee_id == agent_id:
        people.append(agent)
    if "team" in changed and team is not None and team.pk == team_id and team.alerts_enabled:
        if dept.task_assignment_team_lead:
            people.append(team.lead)
        if dept.task_assignment_team_members:
            people += list(team.members.filter(is_active=True, on_vacation=False))
    context = {
        **_agent_context(actor_id),
        "assignee": agent.display_name if agent is not None else "",
        "team": team.name if team is not None else "",
    }
    key = f"task-assigned:{task.pk}:{nonce}"
    _send("task.assignment.alert", people, task, key, context=context, exclude_ids=[actor_id])


def task_transferred(task: Task, *, nonce, actor_id=None, previous_department="", **_) -> None:
    dept = dept_settings(task.department)
    if not dept.task_transfer_alert:
        return
    people: list[User] = []
    people += assigned(task) if dept.task_transfer_assigned else []
    people += manager(task.department) if dept.task_transfer_manager else []
    people += members(task.department) if dept.task_transfer_members else []
    context = {**_agent_context(actor_id), "previous_department": previous_department}
    key = f"task-transfer:{task.pk}:{nonce}"
    _send("task.transfer.alert", people, task, key, context=context, exclude_ids=[actor_id])


def task_overdue(task: Task, *, nonce, **_) -> None:
    """Marked overdue by the sweep (the system: no one to leave out); not once it closed."""
    dept = dept_settings(task.department)
    if not dept.task_overdue_alert or task.state != TaskState.OPEN:
        return
    people: list[User] = []
    people += assigned(task) if dept.task_overdue_assigned else []
    people += manager(task.department) if dept.task_overdue_manager else []
    people += members(task.department) if dept.task_overdue_members else []
    _send("task.overdue.alert", people, task, f"task-overdue:{task.pk}:{nonce}")


HANDLERS: dict[str, Callable[..., None]] = {
    "created": task_created,
    "update": task_update_posted,
    "assigned": task_assigned,
    "transferred": task_transferred,
    "overdue": task_overdue,
}


def notify(event: str, task_id: int, entry_id: int | None = None, **extra: Any) -> None:
    task = (
        Task.objects.select_related("department__manager", "assignee", "team__lead", "ticket")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        return
    entry = None
    if entry_id is not None:
        entry = ThreadEntry.objects.select_related("poster").filter(pk=entry_id).first()
        if entry is None:
            return
    handler = HANDLERS[event]
    with unit_of_work():
        if entry is not None:
            handler(task, entry, **extra)
        else:
            handler(task, **extra)
