"""SLA pauses and the overdue sweep with escalation."""

import datetime as dt

import pytest
import time_machine

from accounts.actors import SYSTEM
from routing.models import ScheduleHours
from threads.models import ThreadEvent
from tickets import services, signals
from tickets.models import Ticket

from ..factories import (
    ClientFactory,
    DepartmentFactory,
    ScheduleFactory,
    SLAFactory,
    TeamFactory,
    priority,
    status,
)

MON_9 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(delta_hours):
    return time_machine.travel(MON_9 + dt.timedelta(hours=delta_hours), tick=False)


@pytest.fixture
def office_sla(db):
    schedule = ScheduleFactory(timezone="UTC")
    for day in range(5):
        ScheduleHours.objects.create(
            schedule=schedule, weekday=day, start_time=dt.time(9), end_time=dt.time(17)
        )
    return SLAFactory(grace_hours=8, schedule=schedule)


def test_a_pausing_status_stops_the_clock_and_the_pause_extends_the_due_date(cast, office_sla):
    with at(0):
        ticket = services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=cast.alice, subject="x", body="y", department=cast.dept_a, sla=office_sla
            ),
        )
    assert ticket.sla_due_at == MON_9 + dt.timedelta(hours=8)  # Monday 17:00
    with at(2):  # Monday 11:00, 6 business hours left
        ticket = services.ticket_set_status(
            actor=cast.agent_a, ticket=ticket, status=status("Awaiting customer")
        )
    assert ticket.sla_paused_at == MON_9 + dt.timedelta(hours=2)
    with at(24 + 4):  # Tuesday 13:00: the client answers
        posted = services.ticket_post_message(actor=cast.alice, ticket=ticket, body="Here you go")
        ticket = services.ticket_set_status(
            actor=cast.agent_a, ticket=posted.ticket, status=status("Open")
        )
    assert ticket.sla_paused_at is None
    # 6 h left from Tuesday 13:00: 4 h Tuesday, 2 h Wednesday -> Wednesday 11:00
    assert ticket.sla_due_at == dt.datetime(2026, 3, 4, 11, 0, tzinfo=dt.UTC)


def test_a_paused_ticket_is_never_marked_overdue(cast, office_sla):
    with at(0):
        ticket = services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=cast.alice,
                subject="x",
                body="y",
                department=cast.dept_a,
                sla=office_sla,
                status=status("Awaiting customer"),
            ),
        )
    with at(24 * 7):
        assert services.tickets_mark_overdue() == 0
    assert Ticket.objects.get(pk=ticket.pk).is_overdue is False


def test_closing_a_paused_ticket_drops_the_pause(cast):
    ticket = services.ticket_set_status(
        actor=cast.admin,
        ticket=services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=cast.alice, subject="x", body="y", department=cast.dept_a
            ),
        ),
        status=status("Awaiting customer"),
    )
    closed = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Closed"))
    assert closed.sla_paused_at is None


def _open(dept, sla, **kw):
    return services.ticket_open(
        actor=SYSTEM,
        new=services.NewTicket(
            requester=ClientFactory(), subject="x", body="y", department=dept, sla=sla, **kw
        ),
    )


def test_the_sweep_marks_overdue_once_records_an_event_and_signals_the_batch(
    db, django_capture_on_commit_callbacks
):
    dept, sla = DepartmentFactory(), SLAFactory(grace_hours=1)
    with at(0):
        late = [_open(dept, sla) for _ in range(3)]
        later_manual = _open(dept, sla, due_at=MON_9 + dt.timedelta(hours=48))
        closed = services.ticket_set_status(
            actor=SYSTEM, ticket=_open(dept, sla), status=status("Closed")
        )
        no_sla = _open(dept, None)
    received = []
    signals.tickets_overdue.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-overdue"
    )
    try:
        with at(2), django_capture_on_commit_callbacks(execute=True):
            assert services.tickets_mark_overdue(batch_size=2) == 3
            assert services.tickets_mark_overdue() == 0  # idempotent: once
    finally:
        signals.tickets_overdue.disconnect(dispatch_uid="t-overdue")
    assert set(Ticket.objects.filter(is_overdue=True).values_list("pk", flat=True)) == {
        t.pk for t in late
    }
    assert sorted(pk for batch in received for pk in batch["ticket_ids"]) == sorted(
        t.pk for t in late
    )
    assert [len(b["ticket_ids"]) for b in received] == [2, 1]
    assert ThreadEvent.objects.filter(kind="overdue").count() == 3
    event = ThreadEvent.objects.filter(kind="overdue", thread=late[0].thread).get()
    assert (
        event.actor_label == "system"
        and event.data["due_at"] == (MON_9 + dt.timedelta(hours=1)).isoformat()
    )
    for t in (later_manual, closed, no_sla):
        assert Ticket.objects.get(pk=t.pk).is_overdue is False
    # the manual due date wins over the SLA's, both ways
    with at(49):
        assert services.tickets_mark_overdue() == 1
    assert Ticket.objects.get(pk=later_manual.pk).is_overdue


def test_escalation_raises_priority_and_reassigns_but_never_lowers(db):
    team = TeamFactory(name="Escalations")
    sla = SLAFactory(grace_hours=1, escalate_priority=priority("High"), escalate_team=team)
    dept = DepartmentFactory()
    with at(0):
        normal = _open(dept, sla)
        emergency = _open(dept, sla, priority=priority("Emergency"))
    with at(3):
        services.tickets_mark_overdue()
    normal.refresh_from_db()
    emergency.refresh_from_db()
    assert (normal.priority.name, normal.team) == ("High", team)
    assert (emergency.priority.name, emergency.team) == ("Emergency", team)
    data = normal.thread.events.get(kind="overdue").data["escalated"]
    assert data == {
        "priority": [priority("Normal").pk, priority("High").pk],
        "team": [None, team.pk],
    }


def test_a_new_due_date_or_a_reopen_clears_overdue_for_another_round(cast):
    sla = SLAFactory(grace_hours=1)
    with at(0):
        ticket = _open(cast.dept_a, sla)
    with at(2):
        services.tickets_mark_overdue()
        ticket.refresh_from_db()
        ticket = services.ticket_set_due_date(
            actor=cast.agent_a, ticket=ticket, due_at=MON_9 + dt.timedelta(hours=5)
        )
        assert ticket.is_overdue is False
    with at(6):
        assert services.tickets_mark_overdue() == 1


def test_the_sweep_uses_a_constant_number_of_queries_per_batch(db, django_assert_max_num_queries):
    team = TeamFactory()
    sla = SLAFactory(grace_hours=1, escalate_priority=priority("High"), escalate_team=team)
    dept = DepartmentFactory()
    with at(0):
        for _ in range(30):
            _open(dept, sla)
    with at(2), django_assert_max_num_queries(10):
        # select, mark, raise priority, reassign, insert events, the alerts' outbox rows,
        # the active webhook subscriptions, the reports' marks (+ savepoint bookkeeping)
        assert services.tickets_mark_overdue(batch_size=100) == 30


def test_marking_a_ticket_overdue_keeps_its_last_updated(db):
    dept = DepartmentFactory()
    with at(0):
        ticket = _open(dept, SLAFactory(grace_hours=1))
    before = Ticket.objects.get(pk=ticket.pk)
    with at(5):
        assert services.tickets_mark_overdue() == 1
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.is_overdue is True and after.version == before.version + 1
    assert after.updated_at == before.updated_at == MON_9
