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

`tests/tickets/test_overdue_paths.py` runs both on a table of cases and compares them;
`bench/sla_sweep.py` measures the PostgreSQL one.
"""

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any, TypedDict

from django.db import connection, transaction
from django.db.models import Case, F, Field, Q, QuerySet, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.bus import send_on_commit
from accounts.rows import Quoter
from threads import services as threads
from threads.models import Channel, ThreadEvent

from .. import signals
from ..models import State, Ticket

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

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
    """What every ticket marked overdue gets."""
    return {"is_overdue": True, "version": F("version") + 1, "updated_at": now}


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


def _after(key: str) -> str:
    return f"escalated_{key}"


def _attname(field: str) -> str:
    found = Ticket._meta.get_field(field)
    if not isinstance(found, Field):  # ESCALATION names the ticket's own columns
        raise TypeError(f"Ticket.{field} is a relation, not a column")
    return found.attname


class _Due(TypedDict):
    overdue_due: dt.datetime  # EFFECTIVE_DUE


def _plan(now: dt.datetime, batch_size: int) -> "QuerySet[WithAnnotations[Ticket, _Due]]":
    """The batch: due tickets, locked (SKIP LOCKED), with their due date and the values
    ESCALATION gives them."""
    return (
        Ticket.objects.alias(overdue_due=EFFECTIVE_DUE)
        .filter(due(now))
        # Django's documented promotion of an alias; django-stubs' plugin sees a clash
        .annotate(overdue_due=F("overdue_due"))  # type: ignore[no-redef]
        .annotate(**{_after(key): expr for key, (_, expr) in ESCALATION.items()})
        .only("thread", *(field for field, _ in ESCALATION.values()))
        .order_by()
        .select_for_update(skip_locked=True, of=("self",))[:batch_size]
    )


def event_data(due: dt.datetime, escalated: dict[str, list[Any]]) -> dict[str, object]:
    return {"due_at": due.astimezone(dt.UTC).isoformat(timespec="seconds"), "escalated": escalated}


# --- the sweep -------------------------------------------------------------------------


def tickets_mark_overdue(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Mark every open ticket past its due date overdue; returns how many."""
    sweep = _sweep_batch_sql if connection.vendor == "postgresql" else _sweep_batch
    total = 0
    while True:
        with transaction.atomic():
            ids, event_ids = sweep(now or timezone.now(), batch_size)
            if ids:
                threads.events_announce(event_ids=event_ids)
                send_on_commit(
                    signals.tickets_overdue,
                    sender=Ticket,
                    ticket_ids=ids,
                    actor=SYSTEM,
                    channel=Channel.SYSTEM,
                )
        total += len(ids)
        if len(ids) < batch_size:
            return total


def _sweep_batch(now: dt.datetime, batch_size: int) -> tuple[list[int], list[int]]:
    """The portable path: `_plan()` evaluated, then the same steps as `_sql()` in a few
    ORM statements (mark, one UPDATE per escalated value, insert the events)."""
    tickets = list(_plan(now, batch_size))
    if not tickets:
        return [], []
    ids = [t.pk for t in tickets]
    Ticket.objects.filter(pk__in=ids).update(**marks(now))
    changes: dict[tuple[str, object], list[int]] = defaultdict(list)
    events = []
    for t in tickets:
        escalated: dict[str, list[Any]] = {}
        for key, (field, _) in ESCALATION.items():
            before, after = getattr(t, _attname(field)), getattr(t, _after(key))
            if after != before:
                changes[(_attname(field), after)].append(t.pk)
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
        Ticket.objects.filter(pk__in=pks).update(**{attname: value})
    created = ThreadEvent.objects.bulk_create(events, batch_size=len(events))
    return ids, [e.pk for e in created]


def _sweep_batch_sql(now: dt.datetime, batch_size: int) -> tuple[list[int], list[int]]:
    sql, params = _sql(now, batch_size)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def _sql(now: dt.datetime, batch_size: int) -> tuple[str, list[Any]]:
    """One PostgreSQL statement for a batch, written from the models: the plan as Django
    compiles `_plan()`, the UPDATE as it compiles `marks()` and ESCALATION, the events'
    table and columns from ThreadEvent's `_meta`."""
    qn, q = connection.ops.quote_name, Quoter(connection)
    pk, thread = q.pk(Ticket), q.column(Ticket, "thread")

    plan_sql, plan_params = _plan(now, batch_size).query.sql_with_params()

    update = UpdateQuery(Ticket)
    escalate: dict[str, object] = {}
    for key, (field, _) in ESCALATION.items():
        escalate[field] = RawSQL(f"plan.{qn(_after(key))}", ())  # noqa: S611 - our quoted alias
    update.add_update_values({**marks(now), **escalate})
    update_sql, update_params = update.get_compiler(connection=connection).as_sql()
    table = q.table(Ticket)

    changed = []  # the event's "escalated": [before, after] of each column that changed
    for key, (field, _) in ESCALATION.items():
        before, after = f"plan.{q.column(Ticket, field)}", f"plan.{qn(_after(key))}"
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
        *ESCALATION.keys(),
        now,
    ]
    return sql, params
