"""The pickers of the queue pages' bulk actions (departments, teams, statuses), kept per
configuration version (tickets.config): a queue page reads them from the process's
cache, not from three tables. Departments, teams and statuses are declared
@cached_rows, so any change to them gives a new version and a fresh read. Agents are
users, never cached: their picker stays a query (selectors.assignable_agents).

The snapshot of the configuration is read once per request (`config_snapshot`).
"""

from dataclasses import dataclass

from tickets.config import Snapshot
from tickets.models import HelpdeskSettings, State, TicketStatus


@dataclass(frozen=True)
class Choice:
    pk: int
    label: str


def config_snapshot(request) -> Snapshot:
    """The configuration in force for this request: its settings row read once."""
    snapshot = getattr(request, "_helpdesk_snapshot", None)
    if snapshot is None:
        snapshot = request._helpdesk_snapshot = Snapshot(HelpdeskSettings.load())
    return snapshot


def department_choices(snapshot: Snapshot) -> list[Choice]:
    """Active departments by name, each with its full name ("Parent / Child")."""
    from .selectors import active_departments

    return snapshot.cached(
        "panel.pickers.departments",
        lambda: [Choice(d.pk, d.full_name) for d in active_departments()],
    )


def team_choices(snapshot: Snapshot) -> list[Choice]:
    from .selectors import active_teams

    return snapshot.cached(
        "panel.pickers.teams", lambda: [Choice(t.pk, t.name) for t in active_teams()]
    )


def all_statuses(snapshot: Snapshot) -> list[TicketStatus]:
    """Every status by sort and name: rows kept by the cache (read-only; their names
    translated when shown)."""
    return snapshot.cached(
        "panel.pickers.statuses", lambda: list(TicketStatus.objects.order_by("sort", "name"))
    )


def bulk_statuses(snapshot: Snapshot) -> list[TicketStatus]:
    """The statuses a bulk status change offers: all but the trash's."""
    return [s for s in all_statuses(snapshot) if s.state != State.DELETED]
