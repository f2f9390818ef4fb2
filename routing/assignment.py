"""Automatic assignment policies (osTicket has none in core; users ask for them).

A policy picks one agent among the available members of a department or a team:
active agents, not on vacation. Policies are small strategy classes chosen by the
department's or team's `assign_policy`. Routing does not count tickets: the caller
passes a `load` function giving each candidate's open-ticket count.
"""

from collections.abc import Callable, Mapping

from django.db.models import Q, QuerySet

from accounts.models import User

from .models import AssignmentCursor, Department, Team

Load = Callable[[list[int]], Mapping[int, int]]


def department_members(department: Department) -> QuerySet[User]:
    return User.objects.filter(
        Q(department=department) | Q(department_accesses__department=department),
        is_agent=True,
        is_active=True,
        on_vacation=False,
    ).distinct()


def team_members(team: Team, *, within: Department | None = None) -> QuerySet[User]:
    """Available team members; with `within`, only those who are members of that department."""
    qs = team.members.filter(is_agent=True, is_active=True, on_vacation=False)
    if within is not None:
        qs = qs.filter(pk__in=department_members(within).values("pk"))
    return qs


Owner = Department | Team  # whose members are picked from (and whose cursor moves)


class Policy:
    def pick(self, candidates: list[User], *, owner: Owner, load: Load) -> User | None:
        raise NotImplementedError


class RoundRobin(Policy):
    """The next member after the last one picked, by id, wrapping around. The cursor row
    is locked for the rest of the caller's transaction, so concurrent picks queue."""

    def pick(self, candidates: list[User], *, owner: Owner, load: Load) -> User:
        if isinstance(owner, Team):
            cursor, _ = AssignmentCursor.objects.get_or_create(team=owner)
        else:
            cursor, _ = AssignmentCursor.objects.get_or_create(department=owner)
        cursor = AssignmentCursor.objects.select_for_update().get(pk=cursor.pk)
        ordered = sorted(candidates, key=lambda u: u.pk)
        after = [
            u for u in ordered if cursor.last_agent_id is not None and u.pk > cursor.last_agent_id
        ]
        chosen = (after or ordered)[0]
        cursor.last_agent = chosen
        cursor.save(update_fields=["last_agent"])
        return chosen


class LeastBusy(Policy):
    """The member with the fewest open tickets (ties: the lowest id)."""

    def pick(self, candidates: list[User], *, owner: Owner, load: Load) -> User:
        counts = load([u.pk for u in candidates])
        return min(candidates, key=lambda u: (counts.get(u.pk, 0), u.pk))


POLICIES: dict[str, Policy] = {
    Department.AssignPolicy.ROUND_ROBIN: RoundRobin(),
    Department.AssignPolicy.LEAST_BUSY: LeastBusy(),
}


def auto_assign(*, department: Department, team: Team | None, load: Load) -> User | None:
    """Pick an agent for a new ticket: by the team's policy when a team is set and has one,
    else by the department's. Respects "assign only to members". None when no policy or
    nobody is available. Call it inside the ticket's transaction."""
    owner: Owner
    if team is not None and team.assign_policy in POLICIES:
        within = department if department.assign_members_only else None
        candidates = list(team_members(team, within=within))
        policy, owner = POLICIES[team.assign_policy], team
    elif department.assign_policy in POLICIES:
        candidates = list(department_members(department))
        policy, owner = POLICIES[department.assign_policy], department
    else:
        return None
    if not candidates:
        return None
    return policy.pick(candidates, owner=owner, load=load)
