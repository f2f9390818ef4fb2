"""Agents' statistics (osTicket's "stats.agents"): per agent of the viewer's
departments, the open tickets assigned to them, those of them overdue, and the tickets
they closed in a period, counting only tickets of the viewer's departments.

Two statements whatever the number of agents: the agents, then one grouped aggregate
over the tickets of those departments (the tickets_dept_state index narrows it). A read
model kept by events would replace the aggregate when installs get large.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from accounts import permissions as perms
from accounts.models import User
from tickets.models import State, Ticket

MAX_AGENTS = 500


@dataclass
class AgentRow:
    agent: User
    assigned: int = 0
    overdue: int = 0
    closed: int = 0


def stats_departments(viewer: User) -> set[int] | None:
    """The departments the viewer's statistics cover: theirs (None: every one, admins)."""
    return None if viewer.is_helpdesk_admin else perms.department_ids(viewer)


def agent_stats(*, viewer: User, days: int = 30) -> list[AgentRow]:
    """One row per active agent working in the viewer's departments (primary or extra),
    by name. The caller checks stats.agents."""
    depts = stats_departments(viewer)
    agents = User.objects.filter(is_agent=True, is_active=True)
    tickets = Ticket.objects.filter(assignee__isnull=False)
    if depts is not None:
        agents = agents.filter(
            Q(department_id__in=depts) | Q(department_accesses__department_id__in=depts)
        ).distinct()
        tickets = tickets.filter(department_id__in=depts)
    rows = {a.pk: AgentRow(a) for a in agents.order_by("name", "email")[:MAX_AGENTS]}
    since = timezone.now() - dt.timedelta(days=days)
    counts = (
        tickets.filter(assignee_id__in=list(rows))
        .values("assignee_id")
        .annotate(
            assigned=Count("pk", filter=Q(state=State.OPEN)),
            overdue=Count("pk", filter=Q(state=State.OPEN, is_overdue=True)),
            closed=Count("pk", filter=Q(state=State.CLOSED, closed_at__gte=since)),
        )
        .order_by()
    )
    for c in counts:
        row = rows[c["assignee_id"]]
        row.assigned, row.overdue, row.closed = c["assigned"], c["overdue"], c["closed"]
    return list(rows.values())
