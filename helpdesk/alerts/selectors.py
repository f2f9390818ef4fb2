"""Which alerts an agent sees: their own, about tickets and tasks they may see now
(tickets.selectors decides), and about their own exports, newest first."""

from functools import lru_cache

from django.db import connections
from django.db.models import Q, QuerySet

from accounts.compiled import compiled_subquery
from helpdesk.counts import Capped, capped_counts
from tickets.selectors import (
    AgentScope,
    agent_scope,
    agent_tasks,
    agent_tickets,
    tasks_visible_to,
    tickets_visible_to,
)

from .models import Alert

UNREAD_CAP = 99


def alerts_visible_to(*, user) -> QuerySet[Alert]:
    if not getattr(user, "is_authenticated", False) or not user.is_agent:
        return Alert.objects.none()
    if (scope := agent_scope(user)) is not None:  # the agent rule: kept per scope
        about = _about_visible_work(scope, connections[Alert.objects.db].vendor)
    else:
        about = Q(ticket__in=tickets_visible_to(user=user).values("pk")) | Q(
            task__in=tasks_visible_to(user=user).values("pk")
        )
    return Alert.objects.filter(about | Q(export__requester_id=user.pk), recipient_id=user.pk)


@lru_cache(maxsize=1024)
def _about_visible_work(scope: AgentScope, vendor: str) -> Q:
    """Alerts about the tickets and tasks an agent of `scope` may see: their SQL compiled
    once per process (building and compiling them for the bell cost about 3.5 ms of
    every page). `vendor`: the database engine the SQL is for."""
    tickets = agent_tickets(scope).values("pk")
    tasks = agent_tasks(scope).values("pk")
    return Q(ticket_id__in=compiled_subquery(tickets)) | Q(task_id__in=compiled_subquery(tasks))


def alerts_for_list(*, user, limit: int = 50) -> list[Alert]:
    """The newest `limit` alerts with what their rows show (a constant number of
    queries whatever the number)."""
    return list(
        alerts_visible_to(user=user)
        .select_related("ticket", "task", "export")
        .order_by("-created_at", "-id")[:limit]
    )


def unread_alerts(*, user, cap: int = UNREAD_CAP) -> Capped:
    """The bell's figure: unread alerts, to count up to cap + 1 (shown as "99+"), in
    the statement of the page's other counts (helpdesk.counts)."""
    return Capped(alerts_visible_to(user=user).filter(read_at__isnull=True), cap)


def unread_count(*, user, cap: int = UNREAD_CAP) -> int:
    """Unread alerts, counted up to cap + 1 (shown as "99+")."""
    return capped_counts({"unread": unread_alerts(user=user, cap=cap)})["unread"]


def alert_get_for(*, user, pk: int) -> Alert | None:
    return alerts_visible_to(user=user).filter(pk=pk).first()
