"""The overdue sweep's two paths apply the one rule (tickets.services.overdue).

A table of cases, each one ticket: what the sweep does to it (marked or not, the
priority and team after escalation, the event's data). The portable path (ORM) runs
everywhere; on PostgreSQL the one-statement path runs on the same tickets too and both
must leave the same rows. The statement itself is written from the models' metadata.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine
from django.db import connection, transaction

from accounts.actors import SYSTEM
from routing.models import Team
from threads.models import ThreadEvent
from tickets import services
from tickets.models import Ticket
from tickets.services import overdue

from ..factories import ClientFactory, DepartmentFactory, SLAFactory, TeamFactory, priority, status

MON_9 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SWEEP_AT = MON_9 + dt.timedelta(hours=3)


@dataclass(frozen=True)
class Case:
    name: str
    priority: str = "Normal"
    team: str | None = None
    sla: str | None = "plain"  # key of SLAS, or None for no SLA
    due_hours: int | None = None  # an agent's due date, hours after opening
    pause: bool = False
    close: bool = False
    # expected
    marked: bool = True
    priority_after: str = "Normal"
    team_after: str | None = None
    escalated: tuple[str, ...] = ()  # the event's "escalated" keys


# name -> (grace hours, escalation priority, escalation team)
SLAS = {
    "plain": (1, None, None),
    "to high": (1, "High", None),
    "to low": (1, "Low", None),
    "to tier 2": (1, None, "Tier 2"),
    "to high and tier 2": (1, "High", "Tier 2"),
    "generous": (48, "High", "Tier 2"),
}

CASES = [
    Case("late, nothing to escalate"),
    Case(
        "raised to a more urgent priority",
        sla="to high",
        priority_after="High",
        escalated=("priority",),
    ),
    Case("never lowered", sla="to low"),
    Case("already as urgent", priority="High", sla="to high", priority_after="High"),
    Case("more urgent already", priority="Emergency", sla="to high", priority_after="Emergency"),
    Case("reassigned to a team", sla="to tier 2", team_after="Tier 2", escalated=("team",)),
    Case(
        "moved from another team",
        team="Tier 1",
        sla="to tier 2",
        team_after="Tier 2",
        escalated=("team",),
    ),
    Case("already with the team", team="Tier 2", sla="to tier 2", team_after="Tier 2"),
    Case("team kept without an escalation team", team="Tier 1", team_after="Tier 1"),
    Case(
        "both",
        sla="to high and tier 2",
        priority_after="High",
        team_after="Tier 2",
        escalated=("priority", "team"),
    ),
    Case("not due yet", sla="generous", marked=False),
    Case(
        "agent's due date passed, SLA's not",
        sla="generous",
        due_hours=2,
        priority_after="High",
        team_after="Tier 2",
        escalated=("priority", "team"),
    ),
    Case("agent's due date later than the SLA's", sla="to high", due_hours=5, marked=False),
    Case("due date without an SLA", sla=None, due_hours=1),
    Case("no SLA, no due date", sla=None, marked=False),
    Case("clock paused", sla="to high", pause=True, marked=False),
    Case("closed", sla="to high", close=True, marked=False),
]


@pytest.fixture
def tickets(db):
    teams = {name: TeamFactory(name=name) for name in ("Tier 1", "Tier 2")}
    slas = {
        key: SLAFactory(
            name=key,
            grace_hours=grace,
            escalate_priority=priority(esc_priority) if esc_priority else None,
            escalate_team=teams[esc_team] if esc_team else None,
        )
        for key, (grace, esc_priority, esc_team) in SLAS.items()
    }
    dept = DepartmentFactory()
    with time_machine.travel(MON_9, tick=False):
        for case in CASES:
            ticket = services.ticket_open(
                actor=SYSTEM,
                new=services.NewTicket(
                    requester=ClientFactory(),
                    subject=case.name,
                    body="y",
                    department=dept,
                    sla=slas[case.sla] if case.sla else None,
                    priority=priority(case.priority),
                    team=teams[case.team] if case.team else None,
                    due_at=MON_9 + dt.timedelta(hours=case.due_hours) if case.due_hours else None,
                ),
            )
            if case.pause:
                services.ticket_set_status(
                    actor=SYSTEM, ticket=ticket, status=status("Awaiting customer")
                )
            if case.close:
                services.ticket_set_status(actor=SYSTEM, ticket=ticket, status=status("Closed"))
    return Ticket.objects.all()


def outcome() -> dict[str, tuple]:
    """Per ticket: overdue flag, priority, team, version, time of the change, the event."""
    events = {
        e.thread_id: (e.data, e.actor_label, e.channel)
        for e in ThreadEvent.objects.filter(kind=ThreadEvent.Kind.OVERDUE)
    }
    return {
        t.subject: (
            t.is_overdue,
            t.priority.name,
            t.team.name if t.team else None,
            t.version,
            t.updated_at,
            events.get(t.thread_id),
        )
        for t in Ticket.objects.select_related("priority", "team")
    }


def run(sweep) -> tuple[dict, list[int], list[int]]:
    """Run one batch with `sweep`, read what it left, and undo it."""
    with transaction.atomic():
        ids, event_ids = sweep(SWEEP_AT, 100)
        result = outcome()
        transaction.set_rollback(True)
    return result, ids, event_ids


def expected(case: Case, before: tuple) -> tuple:
    if not case.marked:
        return before
    due = MON_9 + dt.timedelta(hours=case.due_hours or SLAS[case.sla][0])
    changed = {}
    if "priority" in case.escalated:
        changed["priority"] = [priority(case.priority).pk, priority(case.priority_after).pk]
    if "team" in case.escalated:
        team_id = {t.name: t.pk for t in Team.objects.all()}
        changed["team"] = [team_id.get(case.team), team_id[case.team_after]]
    event = ({"due_at": due.isoformat(), "escalated": changed}, "system", "system")
    # "last updated" is kept: being marked overdue is not an update
    return (True, case.priority_after, case.team_after, before[3] + 1, before[4], event)


def test_the_portable_path_follows_the_rule(tickets):
    before = outcome()
    result, ids, event_ids = run(overdue._sweep_batch)
    for case in CASES:
        assert result[case.name] == expected(case, before[case.name]), case.name
    marked = {c.name for c in CASES if c.marked}
    assert set(Ticket.objects.filter(pk__in=ids).values_list("subject", flat=True)) == marked
    assert len(event_ids) == len(marked)


@pytest.mark.postgres
def test_the_one_statement_path_leaves_the_same_rows_as_the_portable_one(tickets):
    before = outcome()
    portable, portable_ids, _ = run(overdue._sweep_batch)
    one_statement, sql_ids, sql_event_ids = run(overdue._sweep_batch_sql)
    for case in CASES:
        assert one_statement[case.name] == expected(case, before[case.name]), case.name
    assert one_statement == portable
    assert sorted(sql_ids) == sorted(portable_ids)
    assert len(sql_event_ids) == len(sql_ids)


@pytest.mark.postgres
def test_the_one_statement_path_is_one_statement_per_batch(tickets, django_assert_num_queries):
    with transaction.atomic(), django_assert_num_queries(1):
        ids, _ = overdue._sweep_batch_sql(SWEEP_AT, 100)
    assert len(ids) == sum(c.marked for c in CASES)


def test_the_statement_takes_every_table_and_column_name_from_the_models(db, monkeypatch):
    """Rename the tables and columns the statement touches: none of the old names is
    left in it (nothing is written by hand), and each new one appears."""
    renamed = {}
    for model in (Ticket, ThreadEvent):
        renamed[model._meta.db_table] = f"renamed_{model._meta.db_table}"
        monkeypatch.setattr(model._meta, "db_table", renamed[model._meta.db_table])
        for field in model._meta.concrete_fields:
            renamed[field.column] = f"renamed_{field.column}"
            monkeypatch.setattr(field, "column", renamed[field.column])
            # Django caches a column reference with the table's name on each field
            monkeypatch.delitem(field.__dict__, "cached_col", raising=False)
    sql, _ = overdue._sql(SWEEP_AT, 10)
    quote = connection.ops.quote_name
    spaced = sql.replace(".", " ").replace(",", " ").replace("(", " ")
    words = {word.strip('"') for word in spaced.split()}
    for old in renamed:
        assert old not in words, old
    used = {"tickets_ticket", "threads_threadevent", "id", "thread_id", "is_overdue"}
    used |= {"version", "priority_id", "team_id", "kind", "data", "created_at"}
    for old in used:
        assert quote(renamed[old]) in sql, old
