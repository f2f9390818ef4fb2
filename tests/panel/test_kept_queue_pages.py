"""A system queue's page for an agent of a scope is read with a statement compiled once
(panel.selectors.kept_queue_page, accounts.compiled.KeptSelect): the same rows as the
queue's queryset walked page by page, for every system queue, sort and direction, agents
of different scopes one after the other, locks held by others marked."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from helpdesk import keyset
from helpdesk.panel import selectors
from helpdesk.panel.queues import SORTS, queue_tickets, system_queues, team_ids
from threads.models import Lock
from tickets import services
from tickets.selectors import agent_scope, scope_shape

from ..factories import AgentFactory, TeamFactory, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(cast):
    made = [
        open_ticket(cast.alice if i % 2 else cast.bob, department=dept, subject=f"S{i % 4}")
        for i, dept in enumerate([cast.dept_a, cast.dept_b] * 6)
    ]
    team = TeamFactory(members=[cast.agent_a])
    services.ticket_assign(actor=cast.admin, ticket=made[1], team=team)
    services.ticket_assign(actor=cast.admin, ticket=made[2], agent=cast.agent_a)
    services.ticket_refer(actor=cast.admin, ticket=made[3], agent=cast.agent_a)
    Lock.objects.create(
        thread_id=made[0].thread_id,
        agent=cast.manager_a,
        expires_at=timezone.now() + dt.timedelta(minutes=5),
    )
    return made


def _orm_page(user, queue, sort, descending, position, size):
    rows = selectors.queue_rows(user, queue_tickets(user, queue, team_ids(user)))
    return list(
        keyset.page_of(rows, field=sort.field, descending=descending, position=position, size=size)
    )


def _row(ticket):
    return (ticket.pk, ticket.locked_by, ticket.requester.email, ticket.assignee_id)


def test_every_system_queue_page_reads_what_its_queryset_reads(cast, desk):
    limited = AgentFactory(department=cast.dept_a, assigned_only=True)
    services.ticket_assign(actor=cast.admin, ticket=desk[4], agent=limited)
    agents = [cast.agent_a, cast.agent_b, cast.manager_a, limited]
    size = 3
    for agent in agents:
        scope = agent_scope(agent)
        for queue in system_queues(agent):
            for sort in SORTS.values():
                for descending in (True, False):
                    position, pages = None, 0
                    while True:  # every page forward, then one back from the last
                        kept = selectors.kept_queue_page(
                            scope, queue.slug, sort.field, descending, size, position
                        )
                        orm = _orm_page(agent, queue, sort, descending, position, size)
                        assert [_row(t) for t in kept] == [_row(t) for t in orm], (
                            agent.username,
                            queue.slug,
                            sort.key,
                            descending,
                            pages,
                        )
                        pages += 1
                        if len(kept) <= size:
                            break
                        last = kept[size - 1]
                        position = (keyset_value(last, sort.field), last.pk, False)
                    if position is not None:
                        back = (position[0], position[1], True)
                        kept = selectors.kept_queue_page(
                            scope, queue.slug, sort.field, descending, size, back
                        )
                        orm = _orm_page(agent, queue, sort, descending, back, size)
                        assert [_row(t) for t in kept] == [_row(t) for t in orm]
    locked = selectors.kept_queue_page(
        agent_scope(cast.agent_a), "open", "updated_at", True, 20, None
    )
    assert {t.pk: t.locked_by for t in locked}[desk[0].pk] == cast.manager_a.display_name
    if connection.vendor == "postgresql":  # SQLite binds times as text: compiled each time
        # one statement for the agents of a shape (the key is a value): department A's
        for agent in (cast.agent_a, cast.manager_a):
            scope = agent_scope(agent)
            assert selectors._KEPT_QUEUE_PAGE.kept(
                *scope_shape(scope),
                "open",
                "updated_at",
                True,
                20,
                False,
                agent_id=scope.pk,
                now=timezone.now(),
            )
        assert scope_shape(agent_scope(cast.agent_a)) == scope_shape(agent_scope(cast.manager_a))


def keyset_value(ticket, field):
    value = ticket
    for part in field.split("__"):
        value = getattr(value, part)
    return value


def test_every_task_tab_page_and_count_reads_what_its_queryset_reads(cast, desk):
    """The task tabs: a page's statement and each tab's count statement kept per scope
    read the same tasks as the tab's own queryset, for every tab, sort and direction."""
    import time

    from helpdesk.counts import capped_counts, count_statement
    from helpdesk.panel import task_queues as tq

    from .conftest import new_task

    team = TeamFactory(members=[cast.agent_b])
    for i in range(7):
        new_task(
            cast.admin,
            title=f"T{i % 3}",
            department=cast.dept_a if i % 2 else cast.dept_b,
            ticket=desk[i] if i % 3 else None,
            assignee=cast.agent_a if i == 2 else None,
            team=team if i == 3 else None,
        )
    size = 2
    for agent in (cast.agent_a, cast.agent_b, cast.manager_a):
        scope = agent_scope(agent)
        vendor = connection.vendor
        for tab in tq.task_queues():
            plain = tq.queue_tasks(agent, tab.slug, team_ids(agent)).select_related(*tq.RELATED)
            for limit in (1000, 2):
                kept = tq._tab_count(scope, tab.slug, vendor, limit)
                assert kept == count_statement(tq._scope_tasks(scope, tab.slug), limit)
                counted = capped_counts({"n": tq.Capped(plain, limit - 1)})["n"]
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT COUNT(*) FROM ({kept[0]}) AS c", kept[1])  # noqa: S608
                    assert cursor.fetchone()[0] == counted, (agent.username, tab.slug)
            for sort in tq.SORTS.values():
                for descending in (True, False):
                    position = None
                    while True:
                        kept_rows = tq.kept_task_page(
                            scope, tab.slug, sort.field, descending, size, position
                        )
                        orm = list(
                            keyset.page_of(
                                plain,
                                field=sort.field,
                                descending=descending,
                                position=position,
                                size=size,
                            )
                        )
                        assert [(t.pk, t.ticket_id, t.department.name) for t in kept_rows] == [
                            (t.pk, t.ticket_id, t.department.name) for t in orm
                        ], (agent.username, tab.slug, sort.key, descending)
                        if len(kept_rows) <= size:
                            break
                        last = kept_rows[size - 1]
                        position = (getattr(last, sort.field), last.pk, False)
    time.sleep(1.1)  # a tab that read the time would now differ from its kept statement
    scope = agent_scope(cast.agent_a)
    for tab in tq.task_queues():
        assert tq._tab_count(scope, tab.slug, connection.vendor, 1000) == count_statement(
            tq._scope_tasks(scope, tab.slug), 1000
        )
