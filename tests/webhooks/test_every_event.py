"""Every webhook event that is documented (docs/api.md) and accepted by a subscription is
delivered: for each, an admin subscribes to that event alone through the API, the action
happens, and a Delivery with the event's payload and its outbox row are written in the
action's transaction. The overdue sweep's events (written in bulk) included.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.actors import SYSTEM
from helpdesk.outbox.models import OutboxTask
from helpdesk.webhooks import services
from helpdesk.webhooks.models import Delivery
from routing.models import FilterAction, FilterRule, TicketFilter
from threads.models import ThreadEntry, ThreadEvent
from tickets import services as ticket_services

from ..factories import SLAFactory, open_ticket, priority, status

DELIVER = "helpdesk.webhooks.tasks.deliver_webhook_task"


def documented_events() -> list[str]:
    """The event names listed in docs/api.md's Webhooks section ("Events: ...")."""
    text = (Path(settings.BASE_DIR) / "docs" / "api.md").read_text()
    paragraph = text[text.index("\nEvents: ") : text.index("`*` for all")]
    return re.findall(r"`((?:ticket|entry|task)\.[a-z_]+)`", paragraph)


# event -> (setup(cast) -> state, action(cast, state) -> the ticket the event is about)
def _ticket(cast):
    return open_ticket(cast.alice, department=cast.dept_a)


def _two(cast):
    return _ticket(cast), open_ticket(cast.bob, department=cast.dept_a, subject="Other")


def _assigned(cast):
    return ticket_services.ticket_assign(actor=cast.admin, ticket=_ticket(cast), agent=cast.agent_a)


def _merged(cast):
    one, other = _two(cast)
    ticket_services.ticket_merge(actor=cast.admin, ticket=one, sources=[other])
    return one, other


def _linked(cast):
    one, other = _two(cast)
    ticket_services.ticket_link(actor=cast.admin, ticket=one, other=other)
    return one, other


def _with_collaborator(cast):
    ticket = _ticket(cast)
    return ticket_services.ticket_add_collaborator(actor=cast.admin, ticket=ticket, user=cast.bob)


def _late(cast):
    sla = SLAFactory(grace_hours=1)
    return open_ticket(cast.alice, actor=SYSTEM, department=cast.dept_a, sla=sla)


def _sweep(cast, ticket):
    assert ticket_services.tickets_mark_overdue(now=timezone.now() + dt.timedelta(hours=2)) == 1
    return ticket


def _resend(cast, ticket):
    reply = ticket_services.ticket_post_reply(actor=cast.admin, ticket=ticket, body="Hi").entry
    ticket_services.ticket_entry_resend(actor=cast.admin, ticket=ticket, entry=reply)
    return ticket


def _task(cast, **kw):
    kw.setdefault("department", cast.dept_a)
    return ticket_services.task_create(
        actor=cast.admin, new=ticket_services.NewTask(title="Order the part", **kw)
    )


def _closed_task(cast):
    return ticket_services.task_close(actor=cast.admin, task=_task(cast))


def _ticket_task(cast):
    return _task(cast, ticket=_ticket(cast))


def _late_task(cast):
    return _task(cast, due_at=timezone.now() - dt.timedelta(hours=1))


def _of_ticket(task):
    return task.ticket


def _a_filter(cast):
    flt = TicketFilter.objects.create(name="VIP")
    FilterRule.objects.create(filter=flt, field="subject", operator="contains", value="vip")
    FilterAction.objects.create(filter=flt, kind="priority", priority=priority("High"))


def _open_filtered(cast, state):
    return open_ticket(cast.alice, department=cast.dept_a, subject="VIP customer")


ACTIONS = {
    "entry.created": (
        _ticket,
        lambda c, t: (
            ticket_services.ticket_post_reply(actor=c.admin, ticket=t, body="On it.") and t
        ),
    ),
    "ticket.created": (lambda c: None, lambda c, _: _ticket(c)),
    "ticket.assigned": (
        _ticket,
        lambda c, t: ticket_services.ticket_assign(actor=c.admin, ticket=t, agent=c.agent_a),
    ),
    "ticket.released": (
        _assigned,
        lambda c, t: ticket_services.ticket_release(actor=c.admin, ticket=t),
    ),
    "ticket.transferred": (
        _ticket,
        lambda c, t: ticket_services.ticket_transfer(actor=c.admin, ticket=t, department=c.dept_b),
    ),
    "ticket.referred": (
        _ticket,
        lambda c, t: ticket_services.ticket_refer(actor=c.admin, ticket=t, agent=c.agent_b),
    ),
    "ticket.status_changed": (
        _ticket,
        lambda c, t: ticket_services.ticket_set_status(
            actor=c.admin, ticket=t, status=status("Closed")
        ),
    ),
    "ticket.priority_changed": (
        _ticket,
        lambda c, t: ticket_services.ticket_set_priority(
            actor=c.admin, ticket=t, priority=priority("High")
        ),
    ),
    "ticket.due_date_changed": (
        _ticket,
        lambda c, t: ticket_services.ticket_set_due_date(
            actor=c.admin, ticket=t, due_at=timezone.now() + dt.timedelta(days=3)
        ),
    ),
    "ticket.answered_changed": (
        _ticket,
        lambda c, t: ticket_services.ticket_mark_answered(actor=c.admin, ticket=t, answered=True),
    ),
    "ticket.overdue": (_late, _sweep),
    "ticket.edited": (
        _ticket,
        lambda c, t: ticket_services.ticket_edit(actor=c.admin, ticket=t, subject="Renamed"),
    ),
    "ticket.resent": (_ticket, lambda c, t: _resend(c, t)),
    "ticket.merged": (
        _two,
        lambda c, pair: ticket_services.ticket_merge(
            actor=c.admin, ticket=pair[0], sources=[pair[1]]
        ),
    ),
    "ticket.unmerged": (
        _merged,
        lambda c, pair: ticket_services.ticket_unmerge(actor=c.admin, ticket=pair[1]),
    ),
    "ticket.split": (
        _ticket,
        lambda c, t: ticket_services.ticket_split(
            actor=c.admin,
            ticket=t,
            entry=ThreadEntry.objects.filter(thread_id=t.thread_id).first(),
            subject="Split off",
        ),
    ),
    "ticket.linked": (
        _two,
        lambda c, pair: ticket_services.ticket_link(actor=c.admin, ticket=pair[0], other=pair[1]),
    ),
    "ticket.unlinked": (
        _linked,
        lambda c, pair: ticket_services.ticket_unlink(actor=c.admin, ticket=pair[0], other=pair[1]),
    ),
    "ticket.collaborator_added": (
        _ticket,
        lambda c, t: ticket_services.ticket_add_collaborator(actor=c.admin, ticket=t, user=c.bob),
    ),
    "ticket.collaborator_removed": (
        _with_collaborator,
        lambda c, t: ticket_services.ticket_remove_collaborator(
            actor=c.admin, ticket=t, user=c.bob
        ),
    ),
    "ticket.filter_matched": (_a_filter, _open_filtered),
    # lines on a ticket's thread about its tasks
    "ticket.task_created": (_ticket, lambda c, t: _task(c, ticket=t).ticket),
    "ticket.task_closed": (
        _ticket_task,
        lambda c, k: _of_ticket(ticket_services.task_close(actor=c.admin, task=k)),
    ),
    "ticket.task_reopened": (
        lambda c: ticket_services.task_close(actor=c.admin, task=_ticket_task(c)),
        lambda c, k: _of_ticket(ticket_services.task_reopen(actor=c.admin, task=k)),
    ),
    "ticket.task_deleted": (
        _ticket_task,
        lambda c, k: _of_ticket(ticket_services.task_delete(actor=c.admin, task=k)),
    ),
    # events of a task's own thread
    "task.created": (lambda c: None, lambda c, _: _task(c)),
    "task.assigned": (
        _task,
        lambda c, k: ticket_services.task_assign(actor=c.admin, task=k, agent=c.agent_a),
    ),
    "task.released": (
        lambda c: _task(c, assignee=c.agent_a),
        lambda c, k: ticket_services.task_release(actor=c.admin, task=k),
    ),
    "task.transferred": (
        _task,
        lambda c, k: ticket_services.task_transfer(actor=c.admin, task=k, department=c.dept_b),
    ),
    "task.edited": (
        _task,
        lambda c, k: ticket_services.task_edit(actor=c.admin, task=k, title="Renamed"),
    ),
    "task.updated": (
        _task,
        lambda c, k: (
            ticket_services.task_post_update(actor=c.admin, task=k, body="Ordered.").thread.task
        ),
    ),
    "task.closed": (_task, lambda c, k: ticket_services.task_close(actor=c.admin, task=k)),
    "task.reopened": (
        _closed_task,
        lambda c, k: ticket_services.task_reopen(actor=c.admin, task=k),
    ),
    "task.deleted": (_task, lambda c, k: ticket_services.task_delete(actor=c.admin, task=k)),
    "task.overdue": (
        _late_task,
        lambda c, k: ticket_services.tasks_mark_overdue() and k,
    ),
}


def test_the_documented_events_are_those_a_subscription_accepts():
    documented = documented_events()
    assert len(documented) == len(set(documented))
    assert sorted(documented) == services.EVENTS


def test_every_event_has_an_action_below():
    assert set(ACTIONS) == set(services.EVENTS)


@pytest.fixture
def api_admin(cast):
    from ..api.conftest import Api

    return Api(cast).agent(cast.admin)


@pytest.mark.parametrize("name", services.EVENTS)
def test_the_event_is_delivered_to_its_subscriber(cast, api_admin, name):
    setup, action = ACTIONS[name]
    state = setup(cast)
    created = api_admin.post(
        "/api/v1/webhooks/",
        {"name": name, "url": "https://hooks.example.com/in", "events": [name]},
        format="json",
    )
    assert created.status_code == 201, created.content  # the serializer accepts it
    deliveries = Delivery.objects.filter(subscription_id=created.json()["id"])
    assert not deliveries.exists()

    about = action(cast, state)  # the ticket or the task the event is about

    assert deliveries.exists(), f"{name} was not delivered"
    owner = "task" if name.startswith("task.") else "ticket"
    kinds = {"entry.created": "response", "task.updated": "note"}
    kind = kinds.get(name, name.split(".", 1)[1])
    for delivery in deliveries:
        event = ThreadEvent.objects.get(pk=delivery.event_id)
        assert (delivery.event, event.kind) == (name, kind)
        assert delivery.status == Delivery.Status.PENDING
        payload = delivery.payload
        assert (payload["event"], payload["kind"]) == (name, kind)
        assert payload["channel"] == event.channel
        assert payload["actor"] == event.actor_label and payload["data"] == event.data
        assert payload[owner]["id"] == getattr(event.thread, owner).pk
        if owner == "task":
            assert payload["ticket"] is None and payload["task"]["number"] == about.number
        row = OutboxTask.objects.get(task=DELIVER, args=[delivery.pk])
        assert row.state == OutboxTask.State.PENDING
    assert about.pk in {d.payload[owner]["id"] for d in deliveries}


def test_the_sweep_delivers_one_overdue_event_per_ticket_with_its_escalation(cast, api_admin):
    sla = SLAFactory(grace_hours=1, escalate_priority=priority("High"))
    late = [
        open_ticket(cast.alice, actor=SYSTEM, department=cast.dept_a, sla=sla) for _ in range(3)
    ]
    sub = api_admin.post(
        "/api/v1/webhooks/",
        {"name": "late", "url": "https://hooks.example.com/in", "events": ["ticket.overdue"]},
        format="json",
    ).json()
    marked = ticket_services.tickets_mark_overdue(
        now=timezone.now() + dt.timedelta(hours=2), batch_size=2
    )
    assert marked == 3
    deliveries = Delivery.objects.filter(subscription_id=sub["id"])
    assert sorted(d.payload["ticket"]["id"] for d in deliveries) == sorted(t.pk for t in late)
    for delivery in deliveries:
        assert delivery.payload["actor"] == SYSTEM.label
        assert delivery.payload["data"]["escalated"] == {
            "priority": [priority("Normal").pk, priority("High").pk]
        }
        assert delivery.payload["ticket"]["priority"] == "High"
    assert OutboxTask.objects.filter(task=DELIVER).count() == 3
