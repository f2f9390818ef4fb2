"""accounts.compiled.compiled_once: the sidebar's visible tickets with their condition
compiled to SQL once, for its seven queue counts (tests/tickets/test_visibility.py checks
the same rows for every kind of viewer)."""

import pytest
from django.db import connection
from django.db.models import Q
from django.db.models.sql.compiler import SQLCompiler

from accounts.compiled import CompiledCondition, compiled_once
from helpdesk.counts import capped_counts
from helpdesk.panel import selectors
from helpdesk.panel.queues import queue_tickets, system_queues, team_ids
from tickets import services
from tickets.models import Ticket
from tickets.selectors import tickets_visible_to

from ..factories import AgentFactory, TeamFactory, open_ticket, role, status

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(cast):
    """An agent of department A, in a team, with a referral from department B."""
    agent = AgentFactory(department=cast.dept_a)
    team = TeamFactory(members=[agent])
    open_ticket(cast.alice, department=cast.dept_a)
    open_ticket(cast.bob, department=cast.dept_b)  # not theirs
    teamed = open_ticket(cast.bob, department=cast.dept_b)
    services.ticket_assign(actor=cast.admin, ticket=teamed, team=team)
    referred = open_ticket(cast.alice, department=cast.dept_b)
    services.ticket_refer(actor=cast.admin, ticket=referred, agent=agent)
    closed = open_ticket(cast.bob, department=cast.dept_a)
    services.ticket_set_status(actor=cast.admin, ticket=closed, status=status("Closed"))
    return agent


def test_each_queue_counts_the_same_rows_as_the_plain_queryset(agent):
    teams = team_ids(agent)
    plain = tickets_visible_to(user=agent)
    once = compiled_once(tickets_visible_to(user=agent))
    queues = system_queues(agent)
    expected = capped_counts({q.slug: queue_tickets(agent, q, teams, plain) for q in queues})
    counted = capped_counts({q.slug: queue_tickets(agent, q, teams, once) for q in queues})
    assert counted == expected
    assert expected["open"] == 3 and expected["teams"] == 1 and expected["closed"] == 1
    for q in queues:  # the rows themselves, not only how many
        rows = set(queue_tickets(agent, q, teams, once).values_list("pk", flat=True))
        assert rows == set(queue_tickets(agent, q, teams, plain).values_list("pk", flat=True))


def test_the_sidebar_compiles_the_visibility_once_for_all_its_queues(cast, agent, monkeypatch):
    compiled = []
    original = SQLCompiler.as_sql

    def as_sql(self, *args, **kwargs):
        compiled.append(self.query.model._meta.db_table)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", as_sql)
    selectors._counted_agent_tickets.cache_clear()
    side = selectors.sidebar(agent)
    counts = {q.slug: q.count for q in side["queues"]}
    assert counts["open"] == 3 and counts["mine"] == 0
    # the referral subquery is part of the visibility only: one compile, not one per queue
    assert compiled.count("threads_referral") == 1
    # the next request (another instance of the agent) reuses it: no compile at all
    compiled.clear()
    again = selectors.sidebar(type(agent).objects.get(pk=agent.pk))
    assert {q.slug: q.count for q in again["queues"]} == counts
    assert "threads_referral" not in compiled
    # another scope (an extra department) compiles its own, and counts what it adds
    agent.department_accesses.create(department=cast.dept_b, role=role("View only"))
    compiled.clear()
    wider = selectors.sidebar(type(agent).objects.get(pk=agent.pk))
    assert {q.slug: q.count for q in wider["queues"]}["open"] == 4  # bob's in B too
    assert compiled.count("threads_referral") == 1


def test_it_cannot_be_used_where_its_table_is_renamed(agent):
    once = compiled_once(tickets_visible_to(user=agent))
    with pytest.raises(ValueError, match="subquery"):
        Ticket.objects.filter(pk__in=once.values("pk"))
    with pytest.raises(ValueError, match="top-level"):
        Ticket.objects.filter(Q(merged_into__in=once)).exists()


def test_what_it_cannot_compile_once_comes_back_as_it_was(cast, agent):
    everything = tickets_visible_to(user=cast.admin)  # no condition
    assert compiled_once(everything) is everything
    joined = Ticket.objects.filter(requester__email="alice@acme.test")
    assert compiled_once(joined) is joined
    assert not compiled_once(Ticket.objects.none()).exists()
    once = compiled_once(tickets_visible_to(user=agent))
    assert isinstance(once.query.where.children[0].lhs, CompiledCondition)


def test_a_system_queue_statement_kept_for_the_scope_is_the_one_compiled_afresh(agent):
    """The sidebar keeps each system queue's count statement per agent scope; it must be
    the statement the queue's own queryset compiles to, for every queue and a new limit."""
    import time

    from helpdesk.counts import count_statement
    from tickets.selectors import agent_scope

    scope = agent_scope(agent)
    teams = team_ids(agent)
    once = selectors.visible_compiled(agent)
    vendor = connection.vendor
    for q in system_queues(agent):
        selectors._system_count(scope, q.slug, vendor, 1000)
    time.sleep(1.1)  # a filter that read the time would differ now
    for q in system_queues(agent):
        for limit in (1000, 3):
            kept = selectors._system_count(scope, q.slug, vendor, limit)
            assert kept == count_statement(queue_tickets(agent, q, teams, once), limit), q.slug
            fresh = tickets_visible_to(user=agent)  # the same rows as the plain queryset
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM ({kept[0]}) AS c", kept[1])  # noqa: S608
                counted = cursor.fetchone()[0]
            plain = queue_tickets(agent, q, teams, fresh).order_by().values("pk")[:limit]
            assert counted == plain.count(), q.slug


def test_the_bells_compiled_subqueries_have_no_order(agent):
    """An IN (SELECT ...) keeps no ORDER BY: PostgreSQL could not pull it up."""
    from helpdesk.alerts.selectors import alerts_visible_to

    sql, _params = alerts_visible_to(user=agent).order_by().query.sql_with_params()
    assert "IN (SELECT" in sql and "ORDER BY" not in sql


def test_the_headers_counts_kept_per_agent_count_what_their_querysets_count(agent, cast):
    """The header's open tasks and the bell: their count statements are kept per agent
    key and scope (task_queues._assigned_statement, alerts.selectors._unread_statement);
    they count what the plain querysets count, and are the statements compiled afresh."""
    import time

    from helpdesk.alerts.models import Alert
    from helpdesk.alerts.selectors import _unread_statement, alerts_visible_to, unread_alerts
    from helpdesk.counts import count_statement
    from helpdesk.panel import task_queues
    from tickets.selectors import agent_scope, tasks_assigned_to

    from ..panel.conftest import new_task

    mine = new_task(cast.admin, department=cast.dept_a, assignee=agent)
    new_task(cast.admin, department=cast.dept_a)  # not theirs
    seen, unseen = Ticket.objects.filter(department=cast.dept_a)[:1].get(), None
    unseen = Ticket.objects.exclude(pk__in=tickets_visible_to(user=agent).values("pk")).first()
    assert unseen is not None
    for ticket, key in ((seen, "a"), (unseen, "b")):
        Alert.objects.create(recipient=agent, kind="ticket.alert", ticket=ticket, event_key=key)
    Alert.objects.create(recipient=agent, kind="task.alert", task=mine, event_key="c")
    scope, vendor = agent_scope(agent), connection.vendor
    for _round in range(2):
        counted = capped_counts(
            {"tasks": task_queues.my_open_tasks(agent), "bell": unread_alerts(user=agent)}
        )
        assert counted["tasks"] == tasks_assigned_to(user=agent).count() == 1
        plain = alerts_visible_to(user=agent).filter(read_at__isnull=True)
        assert counted["bell"] == plain.count() == 2  # not the alert about department B's
        time.sleep(1.1 if _round == 0 else 0)  # a statement that read the time would differ
    assert task_queues._assigned_statement(agent.pk, vendor, 1000) == count_statement(
        tasks_assigned_to(user=agent), 1000
    )
    assert _unread_statement(scope, vendor, 100) == count_statement(
        alerts_visible_to(user=agent).filter(read_at__isnull=True), 100
    )
