"""The overdue sweep (cron): set-based, a constant number of statements per batch.

A batch takes up to `batch_size` open tickets whose effective due date (the agent's,
else the SLA's) has passed, whose clock runs and that are not yet overdue, locking them
with SKIP LOCKED so two sweeps never take the same rows; marks them overdue; applies
their SLA's escalation (raise the priority, never lower it; reassign to a team); and
writes one `overdue` event each. Inside the batch's transaction the events are announced
in bulk (`threads.signals.events_recorded`: the webhook deliveries) and the batch's ids
with `tickets_overdue` (the overdue alerts), once per ticket since the flag is set.

What happens to an overdue ticket is defined once, below: `due()` (which tickets),
`marks()` (the columns every marked ticket gets) and `ESCALATION` (the columns its SLA
may change, each an ORM expression, recorded in the event as [before, after] when it
changes). Both paths read them:

- on PostgreSQL a batch is ONE statement (a data-modifying CTE): its `plan` is the SQL
  Django compiles for `_plan()`, its UPDATE is compiled from `marks()` and `ESCALATION`,
  and its INSERT of events names tables and columns from the models' `_meta`;
- elsewhere (SQLite, the first-run default) `_plan()` is evaluated and the same steps
  run as a few ORM statements.

Tasks go through the same machinery (`Sweep`: the model, its due date, which rows are due,
its escalation): a task is due by its own due date, has no SLA clock and no escalation,
and its batch is announced with `tasks_overdue` (the task overdue alert).

`tests/tickets/test_overdue_paths.py` runs both on a table of cases and compares them;
`bench/sla_sweep.py` measures the PostgreSQL one.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Field, Q, QuerySet, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.db.models.sql import UpdateQuery
from django.dispatch import Signal
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.bus import send_on_commit
from accounts.rows import Quoter
from threads import services as threads
from threads.models import Channel, ThreadEvent

from .. import signals
from ..models import State, Task, TaskState, Ticket

BATCH_SIZE = 5000

# --- the rule: one definition for both paths -------------------------------------------

EFFECTIVE_DUE = Coalesce("due_at", "sla_due_at")  # the agent's due date wins


def due(now: dt.datetime) -> Q:
    """Tickets the sweep marks (the partial index tickets_overdue_sweep covers the first
    three conditions): open, not yet overdue, clock running, due date passed."""
    return Q(state=State.OPEN, is_overdue=False, sla_paused_at__isnull=True) & Q(
        overdue_due__lt=now
    )


def marks(now: dt.datetime) -> dict[str, object]:
    """What every ticket marked overdue gets. Not `updated_at`: being late is not an
    update, and queues sorted by "last updated" must not reshuffle at each sweep."""
    return {"is_overdue": True, "version": F("version") + 1}


# event key -> (ticket field, its value after escalation). The priority is raised to the
# SLA's escalation priority when that one is more urgent (a lower number), never
# lowered; the team becomes the SLA's escalation team when it has one.
ESCALATION: dict[str, tuple[str, object]] = {
    "priority": (
        "priority",
        Case(
            When(
                sla__escalate_priority__urgency__lt=F("priority__urgency"),
                then=F("sla__escalate_priority"),
            ),
            default=F("priority"),
        ),
    ),
    "team": ("team", Coalesce(F("sla__escalate_team"), F("team"))),
}


def task_due(now: dt.datetime) -> Q:
    """Tasks the sweep marks (the partial index tasks_overdue_sweep): open, not yet
    overdue, with a due date that has passed. Tasks have no SLA and no escalation."""
    return Q(state=TaskState.OPEN, is_overdue=False) & Q(overdue_due__lt=now)


@dataclass(frozen=True)
class Sweep:
    """What one sweep marks: the model, its effective due date, which rows are due, the
    escalation its rows get, and the signal announcing a batch (with `ids` the keyword
    of its ids)."""

    model: type[Ticket] | type[Task]
    effective_due: Any
    due: Callable[[dt.datetime], Q]
    escalation: dict[str, tuple[str, object]]
    signal: Signal
    ids: str


TICKETS = Sweep(Ticket, EFFECTIVE_DUE, due, ESCALATION, signals.tickets_overdue, "ticket_ids")
TASKS = Sweep(Task, F("due_at"), task_due, {}, signals.tasks_overdue, "task_ids")


def _after(key: str) -> str:
    return f"escalated_{key}"


def _attname(sweep: Sweep, field: str) -> str:
    found = sweep.model._meta.get_field(field)
    if not isinstance(found, Field):  # an escalation names the model's own columns
        raise TypeError(f"{sweep.model.__name__}.{field} is a relation, not a column")
    return found.attname


def _plan(now: dt.datetime, batch_size: int, sweep: Sweep = TICKETS) -> "QuerySet[Any]":
    """The batch: due rows (tickets or tasks), locked (SKIP LOCKED), each annotated with
    `overdue_due` (its effective due date) and the values its escalation gives it."""
    rows: QuerySet[Any] = sweep.model.objects.all()
    plan: QuerySet[Any] = (
        rows.alias(overdue_due=sweep.effective_due)
        .filter(sweep.due(now))
        .annotate(overdue_due=F("overdue_due"))
        .annotate(**{_after(key): expr for key, (_, expr) in sweep.escalation.items()})
        .only("thread", *(field for field, _ in sweep.escalation.values()))
        .order_by()
        .select_for_update(skip_locked=True, of=("self",))[:batch_size]
    )
    return plan


def event_data(due_at: dt.datetime, escalated: dict[str, list[Any]]) -> dict[str, object]:
    """An overdue event's data (the portable path; the SQL path builds the same JSON)."""
    return {
        "due_at": due_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "escalated": escalated,
    }


# --- the sweep -------------------------------------------------------------------------


def tickets_mark_overdue(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Mark every open ticket past its due date overdue; returns how many."""
    return _mark(TICKETS, now, batch_size)


def tasks_mark_overdue(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Mark every open task past its due date overdue (the same sweep); returns how many."""
    return _mark(TASKS, now, batch_size)


def _mark(sweep: Sweep, now: dt.datetime | None, batch_size: int) -> int:
    batch = _sweep_batch_sql if connection.vendor == "postgresql" else _sweep_batch
    total = 0
    while True:
        with transaction.atomic():
            ids, event_ids = batch(now or timezone.now(), batch_size, sweep)
            if ids:
                threads.events_announce(event_ids=event_ids)
                send_on_commit(
                    sweep.signal,
                    sender=sweep.model,
                    actor=SYSTEM,
                    channel=Channel.SYSTEM,
                    **{sweep.ids: ids},
                )
        total += len(ids)
        if len(ids) < batch_size:
            return total


def _sweep_batch(
    now: dt.datetime, batch_size: int, sweep: Sweep = TICKETS
) -> tuple[list[int], list[int]]:
    """The portable path: `_plan()` evaluated, then the same steps as `_sql()` in a few
    ORM statements (mark, one UPDATE per escalated value, insert the events)."""
    rows = list(_plan(now, batch_size, sweep))
    if not rows:
        return [], []
    ids = [t.pk for t in rows]
    sweep.model.objects.filter(pk__in=ids).update(**marks(now))
    changes: dict[tuple[str, object], list[int]] = defaultdict(list)
    events = []
    for t in rows:
        escalated: dict[str, list[Any]] = {}
        for key, (field, _) in sweep.escalation.items():
            attname = _attname(sweep, field)
            before, after = getattr(t, attname), getattr(t, _after(key))
            if after != before:
                changes[(attname, after)].append(t.pk)
                escalated[key] = [before, after]
        events.append(
            ThreadEvent(
                thread_id=t.thread_id,
                kind=ThreadEvent.Kind.OVERDUE,
                actor_label=SYSTEM.label,
                channel=Channel.SYSTEM,
                data=event_data(t.overdue_due, escalated),
                created_at=now,
            )
        )
    for (attname, value), pks in changes.items():
        sweep.model.objects.filter(pk__in=pks).update(**{attname: value})
    created = ThreadEvent.objects.bulk_create(events, batch_size=len(events))
    return ids, [e.pk for e in created]


def _sweep_batch_sql(
    now: dt.datetime, batch_size: int, sweep: Sweep = TICKETS
) -> tuple[list[int], list[int]]:
    sql, params = _sql(now, batch_size, sweep)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def _sql(now: dt.datetime, batch_size: int, sweep: Sweep = TICKETS) -> tuple[str, list[Any]]:
    """One PostgreSQL statement for a batch, written from the models: the plan as Django
    compiles `_plan()`, the UPDATE as it compiles `marks()` and the escalation, the
    events' table and columns from ThreadEvent's `_meta`."""
    qn, q = connection.ops.quote_name, Quoter(connection)
    model = sweep.model
    pk, thread = q.pk(model), q.column(model, "thread")

    plan_sql, plan_params = _plan(now, batch_size, sweep).query.sql_with_params()

    update = UpdateQuery(model)
    escalate: dict[str, object] = {}
    for key, (field, _) in sweep.escalation.items():
        escalate[field] = RawSQL(f"plan.{qn(_after(key))}", ())  # noqa: S611 - our quoted alias
    update.add_update_values({**marks(now), **escalate})
    update_sql, update_params = update.get_compiler(connection=connection).as_sql()
    table = q.table(model)

    changed = []  # the event's "escalated": [before, after] of each column that changed
    for key, (field, _) in sweep.escalation.items():
        before, after = f"plan.{q.column(model, field)}", f"plan.{qn(_after(key))}"
        changed.append(
            f"%s::text, CASE WHEN {after} IS DISTINCT FROM {before} "
            f"THEN jsonb_build_array({before}, {after}) END"
        )
    columns = ("thread", "kind", "actor", "actor_label", "channel", "data", "created_at")
    event_columns = ", ".join(q.column(ThreadEvent, name) for name in columns)
    # identifiers from the models' _meta (quoted), compiled SQL, placeholders: no input
    sql = f"""
WITH plan AS ({plan_sql}),
marked AS (
    {update_sql} FROM plan WHERE {table}.{pk} = plan.{pk}
    RETURNING {table}.{pk}
),
events AS (
    INSERT INTO {q.table(ThreadEvent)} ({event_columns})
    SELECT plan.{thread}, %s, NULL, %s, %s,
           jsonb_build_object(
               'due_at', to_char(plan.{qn("overdue_due")} AT TIME ZONE 'UTC',
                                 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
               'escalated', jsonb_strip_nulls(jsonb_build_object({", ".join(changed)}))),
           %s
    FROM plan
    RETURNING {q.pk(ThreadEvent)}, {q.column(ThreadEvent, "thread")}
)
SELECT plan.{pk}, events.{q.pk(ThreadEvent)}
FROM plan JOIN events ON events.{q.column(ThreadEvent, "thread")} = plan.{thread}
"""  # noqa: S608
    params = [
        *plan_params,
        *update_params,
        ThreadEvent.Kind.OVERDUE.value,
        SYSTEM.label,
        Channel.SYSTEM.value,
        *sweep.escalation.keys(),
        now,
    ]
    return sql, params
