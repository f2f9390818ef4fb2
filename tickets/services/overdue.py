"""The overdue sweep (cron): set-based, a constant number of statements per batch.

A batch takes up to `batch_size` open tickets whose effective due date (the agent's,
else the SLA's) has passed, whose clock runs and that are not yet overdue, locking them
with SKIP LOCKED so two sweeps never take the same rows; marks them overdue; applies
their SLA's escalation (raise the priority, never lower it; reassign to a team); and
writes one `overdue` event each. After commit, `tickets_overdue` carries the batch's ids
to the receivers that send the overdue alerts, once per ticket since the flag is set.

On PostgreSQL a batch is ONE statement (a data-modifying CTE, see `_SQL`); elsewhere
(SQLite, the first-run default) the same steps run as a few ORM statements. Both paths
run the same tests; `bench/sla_sweep.py` measures the PostgreSQL one.
"""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.bus import send_on_commit
from threads.models import Channel, ThreadEvent

from .. import signals
from ..models import State, Ticket

BATCH_SIZE = 5000
COLUMNS = (
    "pk",
    "thread_id",
    "priority_id",
    "priority__urgency",
    "team_id",
    "sla__escalate_priority_id",
    "sla__escalate_priority__urgency",
    "sla__escalate_team_id",
    "effective_due",
)


def tickets_mark_overdue(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Mark every open ticket past its due date overdue; returns how many."""
    sweep = _sweep_batch_sql if connection.vendor == "postgresql" else _sweep_batch
    total = 0
    while True:
        with transaction.atomic():
            ids = sweep(now or timezone.now(), batch_size)
            if ids:
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


_SQL = """
WITH due AS (
    SELECT id FROM tickets_ticket
    WHERE state = 'open' AND NOT is_overdue AND sla_paused_at IS NULL
      AND COALESCE(due_at, sla_due_at) < %(now)s
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), plan AS (
    SELECT t.id, t.thread_id, t.priority_id AS old_priority, t.team_id AS old_team,
           COALESCE(t.due_at, t.sla_due_at) AS due_at,
           CASE WHEN ep.id IS NOT NULL AND ep.urgency < p.urgency THEN ep.id ELSE t.priority_id END
               AS new_priority,
           COALESCE(s.escalate_team_id, t.team_id) AS new_team
    FROM due
    JOIN tickets_ticket t ON t.id = due.id
    JOIN tickets_priority p ON p.id = t.priority_id
    LEFT JOIN routing_sla s ON s.id = t.sla_id
    LEFT JOIN tickets_priority ep ON ep.id = s.escalate_priority_id
), marked AS (
    UPDATE tickets_ticket t
    SET is_overdue = true, version = t.version + 1, updated_at = %(now)s,
        priority_id = plan.new_priority, team_id = plan.new_team
    FROM plan WHERE t.id = plan.id
    RETURNING t.id
), events AS (
    INSERT INTO threads_threadevent
        (thread_id, kind, actor_id, actor_label, channel, data, created_at)
    SELECT thread_id, 'overdue', NULL, 'system', 'system',
           jsonb_build_object(
               'due_at', to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
               'escalated', jsonb_strip_nulls(jsonb_build_object(
                   'priority', CASE WHEN new_priority <> old_priority
                                    THEN jsonb_build_array(old_priority, new_priority) END,
                   'team', CASE WHEN new_team IS DISTINCT FROM old_team
                                THEN jsonb_build_array(old_team, new_team) END))),
           %(now)s
    FROM plan
)
SELECT id FROM marked
"""


def _sweep_batch_sql(now: dt.datetime, batch_size: int) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(_SQL, {"now": now, "limit": batch_size})
        return [row[0] for row in cur.fetchall()]


def _due_rows(now: dt.datetime, batch_size: int) -> list[tuple[Any, ...]]:
    return list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .annotate(effective_due=Coalesce("due_at", "sla_due_at"))
        .filter(
            state=State.OPEN, is_overdue=False, sla_paused_at__isnull=True, effective_due__lt=now
        )
        .values_list(*COLUMNS)[:batch_size]
    )


def _sweep_batch(now: dt.datetime, batch_size: int) -> list[int]:
    """The portable path: the same steps as `_SQL` in a few ORM statements."""
    rows = _due_rows(now, batch_size)
    if not rows:
        return []
    ids = [r[0] for r in rows]
    Ticket.objects.filter(pk__in=ids).update(
        is_overdue=True, version=F("version") + 1, updated_at=now
    )
    raise_to, reassign, events = defaultdict(list), defaultdict(list), []
    for pk, thread_id, prio, urgency, team, esc_prio, esc_urgency, esc_team, due in rows:
        escalated = {}
        if esc_prio and esc_urgency < urgency:
            raise_to[esc_prio].append(pk)
            escalated["priority"] = [prio, esc_prio]
        if esc_team and esc_team != team:
            reassign[esc_team].append(pk)
            escalated["team"] = [team, esc_team]
        events.append(
            ThreadEvent(
                thread_id=thread_id,
                kind=ThreadEvent.Kind.OVERDUE,
                actor_label=SYSTEM.label,
                channel=Channel.SYSTEM,
                data={
                    "due_at": due.astimezone(dt.UTC).isoformat(timespec="seconds"),
                    "escalated": escalated,
                },
                created_at=now,
            )
        )
    for priority_id, pks in raise_to.items():
        Ticket.objects.filter(pk__in=pks).update(priority_id=priority_id)
    for team_id, pks in reassign.items():
        Ticket.objects.filter(pk__in=pks).update(team_id=team_id)
    ThreadEvent.objects.bulk_create(events, batch_size=len(events))
    return ids
