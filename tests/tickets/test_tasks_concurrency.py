"""Tasks under races (PostgreSQL: real row locks and concurrent connections)."""

import pytest

from accounts.errors import Conflict
from threads.models import ThreadEvent
from tickets import services
from tickets.models import State, Task, TaskState, Ticket

from ..factories import AgentFactory, ClientFactory, DepartmentFactory, open_ticket, status
from .test_concurrency import _run_together


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ten_agents_claiming_a_task_at_once_give_one_assignee():
    dept = DepartmentFactory()
    agents = [AgentFactory(department=dept) for _ in range(10)]
    task = services.task_create(
        actor=agents[0], new=services.NewTask(title="Order the part", department=dept)
    )

    results = _run_together(10, lambda i: services.task_claim(actor=agents[i], task=task))

    winners = [r for r in results if isinstance(r, Task)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 9, results
    assert {e.code for e in losers} == {"already_assigned"}
    task.refresh_from_db()
    assert task.assignee == winners[0].assignee and task.version == 2
    assert ThreadEvent.objects.filter(thread_id=task.thread_id, kind="assigned").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_ticket_never_closes_beside_a_task_opened_at_the_same_moment():
    dept = DepartmentFactory()
    agent = AgentFactory(department=dept)
    closed = status("Closed")
    for _ in range(5):
        ticket = open_ticket(ClientFactory(), department=dept)

        def work(i, ticket=ticket):
            if i % 2:
                return services.ticket_set_status(actor=agent, ticket=ticket, status=closed)
            return services.task_create(
                actor=agent, new=services.NewTask(title=f"Task {i}", ticket=ticket)
            )

        results = _run_together(6, work)
        assert all(isinstance(r, Ticket | Task | Conflict) for r in results), results
        ticket.refresh_from_db()
        open_tasks = Task.objects.filter(ticket=ticket, state=TaskState.OPEN).count()
        # either it closed and no task opened beside it, or it stayed open with its tasks
        assert (ticket.state == State.CLOSED) == (open_tasks == 0), (ticket.state, open_tasks)
