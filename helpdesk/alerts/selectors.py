"""Which alerts an agent sees: their own, about tickets and tasks they may see now
(tickets.selectors decides), and about their own exports, newest first."""

from functools import lru_cache, partial

from django.db import connections
from django.db.models import Q, QuerySet

from accounts.compiled import compiled_subquery
from helpdesk.counts import Capped, capped_counts, count_statement
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
        return _scope_alerts(scope, connections[Alert.objects.db].vendor)
    about = Q(ticket__in=tickets_visible_to(user=user).values("pk")) | Q(
        task__in=tasks_visible_to(user=user).values("pk")
    )
    return Alert.objects.filter(about | Q(export__requester_id=user.pk), recipient_id=user.pk)


def _scope_alerts(scope: AgentScope, vendor: str) -> QuerySet[Alert]:
    """`alerts_visible_to` an agent of `scope` (whose key is `scope.pk`)."""
    about = _about_visible_work(scope, vendor)
    return Alert.objects.filter(about | Q(export__requester_id=scope.pk), recipient_id=scope.pk)


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
    the statement of the page's other counts (helpdesk.counts); an agent of a scope's
    statement compiled once per process (`_unread_statement`)."""
    unread = alerts_visible_to(user=user).filter(read_at__isnull=True)
    scope = agent_scope(user) if getattr(user, "is_authenticated", False) else None
    if scope is None:
        return Capped(unread, cap)
    vendor = connections[unread.db].vendor
    return Capped(unread, cap, compiled=partial(_unread_statement, scope, vendor))


@lru_cache(maxsize=1024)
def _unread_statement(scope: AgentScope, vendor: str, limit: int) -> tuple[str, tuple]:
    """The bell's count statement for an agent of `scope`: the unread of
    `_scope_alerts`, compiled once per process and limit."""
    return count_statement(_scope_alerts(scope, vendor).filter(read_at__isnull=True), limit)


def unread_count(*, user, cap: int = UNREAD_CAP) -> int:
    """Unread alerts, counted up to cap + 1 (shown as "99+")."""
    return capped_counts({"unread": unread_alerts(user=user, cap=cap)})["unread"]


def alert_get_for(*, user, pk: int) -> Alert | None:
    return alerts_visible_to(user=user).filter(pk=pk).first()
