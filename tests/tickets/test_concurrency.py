"""Races: many agents or channels at the same moment. The parallel tests need PostgreSQL
(real row locks and concurrent connections); the version check runs everywhere."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts.actors import SYSTEM
from accounts.errors import Conflict, StaleVersion
from threads.models import ThreadEvent
from tickets import services
from tickets.models import HelpdeskSettings, Ticket, TicketSequence

from ..factories import (
    AgentFactory,
    ClientFactory,
    DepartmentFactory,
    open_ticket,
    priority,
    status,
)


def _run_together(n, work):
    """Run work(i) in n threads released at the same instant; return results or exceptions."""
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait(timeout=30)
            return work(i)
        except Exception as exc:  # collected and asserted by the caller
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_agents_claiming_at_once_give_one_assignee():
    dept = DepartmentFactory()
    agents = [AgentFactory(department=dept) for _ in range(20)]
    ticket = open_ticket(ClientFactory(), department=dept)

    results = _run_together(20, lambda i: services.ticket_claim(actor=agents[i], ticket=ticket))

    winners = [r for r in results if isinstance(r, Ticket)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 19, results
    assert {e.code for e in losers} == {"already_assigned"}
    ticket.refresh_from_db()
    assert ticket.assignee == winners[0].assignee
    assert ThreadEvent.objects.filter(thread=ticket.thread, kind="assigned").count() == 1
    assert ticket.version == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(("mode", "mask"), [("random", "###"), ("sequence", "T-####")])
def test_two_hundred_parallel_opens_get_two_hundred_distinct_numbers(mode, mask):
    HelpdeskSettings.objects.filter(pk=1).update(number_mode=mode, number_format=mask)
    TicketSequence.objects.update_or_create(pk=1, defaults={"next_value": 1})
    dept = DepartmentFactory()
    clients = [ClientFactory() for _ in range(8)]

    def open_one(i):
        return services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=clients[i % 8], subject=f"Parallel {i}", body="x", department=dept
            ),
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: _closing(open_one, i), range(200)))

    failures = [r for r in results if isinstance(r, Exception)]
    assert failures == []
    numbers = [t.number for t in results]
    assert len(set(numbers)) == 200 == Ticket.objects.count()
    if mode == "sequence":
        assert sorted(numbers) == [f"T-{i:04d}" for i in range(1, 201)]
    else:
        assert all(len(n) == 3 and n.isdigit() for n in numbers)


def _closing(fn, i):
    try:
        return fn(i)
    except Exception as exc:
        return exc
    finally:
        connection.close()


def test_a_change_based_on_a_stale_version_is_refused_and_changes_nothing(cast, nothing_written):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    seen = ticket.version
    services.ticket_set_priority(
        actor=cast.agent_a, ticket=ticket, priority=priority("High"), expected_version=seen
    )
    with nothing_written(), pytest.raises(StaleVersion) as exc:
        services.ticket_set_priority(
            actor=cast.manager_a, ticket=ticket, priority=priority("Low"), expected_version=seen
        )
    assert exc.value.code == "stale_version" and exc.value.status == 412
    ticket.refresh_from_db()
    assert ticket.priority.name == "High" and ticket.version == seen + 1
    with nothing_written(), pytest.raises(StaleVersion) as refusal:
        services.ticket_post_reply(
            actor=cast.agent_a, ticket=ticket, body="late", expected_version=seen
        )
    assert refusal.value.code == "stale_version"
    assert ticket.thread.entries.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_overdue_sweeps_at_once_mark_each_ticket_once():
    import datetime as dt

    import time_machine

    from threads.models import ThreadEvent

    from ..factories import SLAFactory

    dept, sla = DepartmentFactory(), SLAFactory(grace_hours=1)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        tickets = [
            services.ticket_open(
                actor=SYSTEM,
                new=services.NewTicket(
                    requester=ClientFactory(), subject="x", body="y", department=dept, sla=sla
                ),
            )
            for _ in range(60)
        ]
    later = start + dt.timedelta(hours=3)
    results = _run_together(2, lambda i: services.tickets_mark_overdue(now=later, batch_size=7))
    assert sum(results) == 60, results
    assert Ticket.objects.filter(is_overdue=True).count() == 60
    per_ticket = ThreadEvent.objects.filter(kind="overdue").values_list("thread_id", flat=True)
    assert sorted(per_ticket) == sorted(t.thread_id for t in tickets)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_round_robin_under_concurrency_stays_fair():
    from collections import Counter

    from routing.models import Department

    dept = DepartmentFactory(assign_policy=Department.AssignPolicy.ROUND_ROBIN)
    agents = [AgentFactory(department=dept) for _ in range(4)]
    results = _run_together(
        16,
        lambda i: services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=ClientFactory(), subject=f"rr {i}", body="x", department=dept
            ),
        ),
    )
    assert all(isinstance(r, Ticket) for r in results), results
    assert Counter(r.assignee_id for r in results) == {a.pk: 4 for a in agents}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_change_waiting_behind_a_status_change_still_finds_its_ticket():
    """PostgreSQL re-checks a row it waited for against the rows joined before waiting:
    once the holder changed the ticket's status, a join on the old status dropped the
    ticket, and the waiting change failed as if it did not exist (a 500)."""
    dept = DepartmentFactory()
    agents = [AgentFactory(department=dept) for _ in range(6)]
    closed = status("Closed")
    for _ in range(3):
        ticket = open_ticket(ClientFactory(), department=dept)

        def work(i, ticket=ticket):
            if i == 0:
                return services.ticket_set_status(actor=agents[0], ticket=ticket, status=closed)
            return services.ticket_post_note(actor=agents[i], ticket=ticket, body=f"note {i}")

        results = _run_together(6, work)
        assert not [r for r in results if isinstance(r, Exception)], results
        ticket.refresh_from_db()
        assert ticket.state == "closed"
        assert ticket.version == 1 + 6
