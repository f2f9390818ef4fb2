"""The overdue sweep (cron): set-based, a constant number of statements per batch.

Per batch, in one transaction: one SELECT takes up to `batch_size` open tickets whose
effective due date (the agent's, else the SLA's) has passed, whose clock runs and that
are not yet overdue, locking them with SKIP LOCKED so two sweeps never take the same
rows; one UPDATE marks them; the SLA's escalations run as one UPDATE per target
(bounded by the number of SLAs, not by tickets); one INSERT writes their `overdue`
events. After commit, `tickets_overdue` carries the batch's ids to the receivers that
send the overdue alerts, once per ticket since the flag is set.
"""

from collections import defaultdict

from django.db import transaction
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


def tickets_mark_overdue(*, now=None, batch_size: int = BATCH_SIZE) -> int:
    """Mark every open ticket past its due date overdue; returns how many."""
    total = 0
    while True:
        with transaction.atomic():
            marked = _sweep_batch(now or timezone.now(), batch_size)
        total += marked
        if marked < batch_size:
            return total


def _due_rows(now, batch_size: int) -> list[tuple]:
    return list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .annotate(effective_due=Coalesce("due_at", "sla_due_at"))
        .filter(
            state=State.OPEN, is_overdue=False, sla_paused_at__isnull=True, effective_due__lt=now
        )
        .values_list(*COLUMNS)[:batch_size]
    )


def _sweep_batch(now, batch_size: int) -> int:
    rows = _due_rows(now, batch_size)
    if not rows:
        return 0
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
                data={"due_at": due.isoformat(), "escalated": escalated},
                created_at=now,
            )
        )
    for priority_id, pks in raise_to.items():
        Ticket.objects.filter(pk__in=pks).update(priority_id=priority_id)
    for team_id, pks in reassign.items():
        Ticket.objects.filter(pk__in=pks).update(team_id=team_id)
    ThreadEvent.objects.bulk_create(events, batch_size=len(events))
    send_on_commit(
        signals.tickets_overdue, sender=Ticket, ticket_ids=ids, actor=SYSTEM, channel=Channel.SYSTEM
    )
    return len(ids)
