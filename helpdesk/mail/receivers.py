"""Ticket and task signals to mail: each receiver writes one outbox row in the change's
own transaction (accounts.bus.connect_in_transaction), so a notification commits with
its change and no outage loses it; the task, run by a worker or the outbox job after
commit, picks recipients and renders (helpdesk.mail.notifications, and
helpdesk.mail.task_notifications for tasks: agents only). Connected in
MailConfig.ready()."""

import uuid

from accounts import bus
from accounts.actors import actor_user
from helpdesk.outbox.services import enqueue
from tickets import signals

from .tasks import notify_task, overdue_alerts_task, task_notify_task


def _actor_id(actor) -> int | None:
    user = actor_user(actor)
    return user.pk if user is not None else None


def _enqueue(event: str, ticket, entry=None, **extra) -> None:
    enqueue(notify_task, event, ticket.pk, entry.pk if entry is not None else None, extra)


def on_created(sender, ticket, entry, actor, autorespond=True, alert=True, **kwargs):
    _enqueue(
        "created",
        ticket,
        entry,
        autorespond=bool(autorespond),
        alert=bool(alert),
        actor_id=_actor_id(actor),
    )


def on_message(sender, ticket, entry, actor, **kwargs):
    _enqueue("message", ticket, entry)


def on_reply(sender, ticket, entry, actor, **kwargs):
    _enqueue("reply", ticket, entry)


def on_resent(sender, ticket, entry, actor, **kwargs):
    """The response again, to the addressees stored on it (a new nonce: a second mail)."""
    _enqueue("reply", ticket, entry, nonce=uuid.uuid4().hex)


def on_note(sender, ticket, entry, actor, **kwargs):
    _enqueue("note", ticket, entry, actor_id=_actor_id(actor))


def _assignment(actor, agent, team, previous_agent, previous_team) -> dict:
    """What an assignment alert needs (a ticket's or a task's): who assigned, to whom, and
    which of the agent and the team the assignment newly set."""
    changed = [
        name
        for name, now, before in (("agent", agent, previous_agent), ("team", team, previous_team))
        if now is not None and now != before
    ]
    return {
        "nonce": uuid.uuid4().hex,
        "actor_id": _actor_id(actor),
        "agent_id": agent.pk if agent is not None else None,
        "team_id": team.pk if team is not None else None,
        "changed": changed,
    }


def _transfer(actor, previous_department) -> dict:
    """What a transfer alert needs (a ticket's or a task's)."""
    return {
        "nonce": uuid.uuid4().hex,
        "actor_id": _actor_id(actor),
        "previous_department": str(getattr(previous_department, "name", "") or ""),
    }


def _overdue(kind: str, ids) -> None:
    """One row for the sweep's batch; run, it queues one alert row per ticket or task."""
    enqueue(overdue_alerts_task, kind, list(ids), uuid.uuid4().hex)


def on_assigned(
    sender, ticket, actor, agent=None, team=None, previous_agent=None, previous_team=None, **kw
):
    _enqueue("assigned", ticket, **_assignment(actor, agent, team, previous_agent, previous_team))


def on_transferred(sender, ticket, actor, previous_department=None, **kwargs):
    _enqueue("transferred", ticket, **_transfer(actor, previous_department))


def on_overdue(sender, ticket_ids, **kwargs):
    _overdue("ticket", ticket_ids)


# --- tasks: agents only (helpdesk.mail.task_notifications) ---------------------------------


def _enqueue_task(event: str, task, entry=None, **extra) -> None:
    enqueue(task_notify_task, event, task.pk, entry.pk if entry is not None else None, extra)


def on_task_created(sender, task, actor, entry=None, **kwargs):
    _enqueue_task("created", task, entry, actor_id=_actor_id(actor))


def on_task_note(sender, task, actor, entry, **kwargs):
    _enqueue_task("update", task, entry, actor_id=_actor_id(actor))


def on_task_assigned(
    sender, task, actor, agent=None, team=None, previous_agent=None, previous_team=None, **kw
):
    _enqueue_task(
        "assigned", task, **_assignment(actor, agent, team, previous_agent, previous_team)
    )


def on_task_transferred(sender, task, actor, previous_department=None, **kwargs):
    _enqueue_task("transferred", task, **_transfer(actor, previous_department))


def on_tasks_overdue(sender, task_ids, **kwargs):
    _overdue("task", task_ids)


def connect() -> None:
    pairs = (
        (signals.ticket_created, on_created),
        (signals.ticket_message_posted, on_message),
        (signals.ticket_reply_posted, on_reply),
        (signals.ticket_reply_resent, on_resent),
        (signals.ticket_note_posted, on_note),
        (signals.ticket_assigned, on_assigned),
        (signals.ticket_transferred, on_transferred),
        (signals.tickets_overdue, on_overdue),
        (signals.task_created, on_task_created),
        (signals.task_note_posted, on_task_note),
        (signals.task_assigned, on_task_assigned),
        (signals.task_transferred, on_task_transferred),
        (signals.tasks_overdue, on_tasks_overdue),
    )
    for signal, receiver in pairs:
        bus.connect_in_transaction(
            signal, receiver, dispatch_uid=f"helpdesk.mail.{receiver.__name__}"
        )
