"""Who may see which ticket: decided here and only here.

Every surface (panel, portal, API, search, attachment downloads) reads tickets through
`tickets_visible_to` / `ticket_get_for`, and `tickets.permissions` asks the same
question before any change, so a ticket that is not visible is not found anywhere.
"""

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Exists, Field, ForeignKey, OuterRef, Q, QuerySet

from accounts import permissions as perms
from accounts.actors import Viewer, is_agent, is_api_key, is_client, is_system
from accounts.compiled import KeptSelect, compiled_where
from accounts.errors import NotVisible
from accounts.models import Organization, User
from accounts.rows import Quoter, RowQuery
from routing.models import Team
from threads.models import Collaborator, Referral

from .config import Snapshot
from .models import HelpdeskSettings, State, Task, TaskState, Ticket, TicketLink


def tickets_visible_to(*, user: Viewer) -> QuerySet[Ticket]:
    """Tickets `user` may see.

    - helpdesk admins and the system: all, including deleted ones (the trash);
    - agents: tickets of departments they have access to (unless limited to assigned
      tickets), assigned to them or their teams, or referred to them, their teams or
      their departments; never deleted ones;
    - clients: their own, those they collaborate on, and their organization's when it
      shares; never deleted ones;
    - an API key: tickets of the departments in its read scope (every department for a
      key of the whole helpdesk), never deleted ones;
    - anyone else: none.
    """
    if is_api_key(user):
        keys = Ticket.objects.exclude(state=State.DELETED)
        if user.all_departments:
            return keys
        return keys.filter(department_id__in=user.read_departments)
    if is_system(user):
        return Ticket.objects.all()
    if (scope := agent_scope(user)) is not None:
        return agent_tickets(scope)
    if is_agent(user):  # a helpdesk admin
        return Ticket.objects.all()
    if is_client(user):
        return Ticket.objects.filter(_client_q(user)).exclude(state=State.DELETED)
    return Ticket.objects.none()


def tickets_readable_by(*, user: Viewer) -> QuerySet[Ticket]:
    """Tickets `user` may find by search and open: `tickets_visible_to`, and for an
    agent holding search.all (osTicket's "search results ignore access restrictions")
    every ticket but deleted ones. Such a ticket outside their departments is read
    only: no role of theirs applies there (tickets.permissions), as for a referral, so
    they may read it and post internal notes. Their queues stay `tickets_visible_to`.
    `ticket_get_for` and `ticket_is_visible` answer with this, so a ticket search
    finds is never one the ticket page refuses."""
    if _searches_all(user):
        return Ticket.objects.exclude(state=State.DELETED)
    return tickets_visible_to(user=user)


def _searches_all(user: Viewer) -> bool:
    return (
        is_agent(user) and not user.is_helpdesk_admin and perms.has_agent_perm(user, "search.all")
    )


def readable_scope(user: Viewer) -> "AgentScope | None":
    """The scope whose `agent_tickets` are exactly `tickets_readable_by(user)`: that of an
    active agent who is neither a helpdesk admin nor holds search.all. None for anyone
    else. What is built from the scope alone (a statement compiled once) may then stand
    for what the user may read."""
    if _searches_all(user):
        return None
    return agent_scope(user)


class AgentScope(NamedTuple):
    """Everything an agent's visible tickets and tasks are built from (`agent_tickets`,
    `agent_tasks`): the functions that build them take this and nothing else, so what
    is derived from them alone (the querysets, their compiled SQL) may be kept per
    process under it. Their teams and referrals are subqueries, read when a statement
    runs; the departments come from `perms.department_ids`, read once per user
    instance (accounts.permissions), so once per request."""

    pk: int
    assigned_only: bool
    departments: frozenset[int]


def agent_scope(user: Viewer) -> AgentScope | None:
    """The scope of an active agent who is not a helpdesk admin: whose tickets and tasks
    are the agent rule of `tickets_visible_to` and `tasks_visible_to`. None for
    anyone else."""
    if not is_agent(user) or user.is_helpdesk_admin:
        return None
    return AgentScope(user.pk, user.assigned_only, frozenset(perms.department_ids(user)))


def scope_shape(scope: AgentScope) -> tuple[bool, frozenset[int]]:
    """What of an agent's scope shapes the SQL of their statements: the agent's key is
    only ever a parameter in them (`_agent_q`), so a statement compiled once
    (accounts.compiled.KeptSelect) is kept per shape, for every agent of the same
    departments, with the key as one of its values (`scope_with`)."""
    return scope.assigned_only, scope.departments


def scope_with(assigned_only: bool, departments: frozenset[int], agent_id: int) -> AgentScope:
    """The scope of `scope_shape` for the agent of key `agent_id`."""
    return AgentScope(agent_id, assigned_only, departments)


def agent_tickets(scope: AgentScope) -> QuerySet[Ticket]:
    """The tickets of an agent of this scope: tickets_visible_to's agent rule."""
    return _agent_tickets_of(*scope).all()


def agent_tasks(scope: AgentScope) -> QuerySet[Task]:
    """The tasks of an agent of this scope: tasks_visible_to's agent rule."""
    return _agent_tasks_of(*scope).all()


# An agent's visible tickets and tasks, as querysets built once per process for the
# scope they are built from (building one cost about 2 ms, and every panel page asks
# for both). Callers get a copy (`.all()`), so the kept one is never evaluated.
@lru_cache(maxsize=1024)
def _agent_tickets_of(
    pk: int, assigned_only: bool, departments: frozenset[int]
) -> QuerySet[Ticket]:
    q = _agent_q(pk, assigned_only, departments)
    return Ticket.objects.filter(q).exclude(state=State.DELETED)


@lru_cache(maxsize=1024)
def _agent_tasks_of(pk: int, assigned_only: bool, departments: frozenset[int]) -> QuerySet[Task]:
    teams = Team.members.through.objects.filter(user_id=pk).values("team_id")
    q = Q(assignee_id=pk) | Q(team_id__in=teams)
    if not assigned_only:
        q |= Q(department_id__in=sorted(departments))
    # the ticket's own condition through a join (one primary-key probe per task), not IN
    # over every visible ticket: that set is too large to hash, and PostgreSQL priced its
    # rescan so high that it compiled each task query with JIT (200 ms at a million)
    q |= _agent_q(pk, assigned_only, departments, via="ticket__") & ~Q(ticket__state=State.DELETED)
    return Task.objects.filter(q).exclude(state=TaskState.DELETED)


def _agent_q(pk: int, assigned_only: bool, departments: frozenset[int], via: str = "") -> Q:
    """The agent's tickets; with `via` ("ticket__") the same condition on the ticket a
    row points at (a task's)."""
    teams = Team.members.through.objects.filter(user_id=pk).values("team_id")
    depts = sorted(departments)
    referral = Q(agent_id=pk) | Q(team_id__in=teams)
    q = Q(**{f"{via}assignee_id": pk}) | Q(**{f"{via}team_id__in": teams})
    if not assigned_only:
        q |= Q(**{f"{via}department_id__in": depts})
        referral |= Q(department_id__in=depts)
    thread = OuterRef(f"{via}thread_id")
    return q | Q(Exists(Referral.objects.filter(referral, thread_id=thread)))


def _client_q(user: User) -> Q:
    q = Q(requester_id=user.pk) | Q(
        Exists(
            Collaborator.objects.filter(
                thread_id=OuterRef("thread_id"), user_id=user.pk, is_active=True
            )
        )
    )
    if user.organization_id:
        sharing = (
            Organization.objects.filter(pk=user.organization_id)
            .values_list("sharing", flat=True)
            .first()
        )
        primary = sharing == Organization.Sharing.PRIMARY and user.is_primary_contact
        if sharing == Organization.Sharing.ALL or primary:
            q |= Q(organization_id=user.organization_id)
    return q


def ticket_get_for(
    *,
    user: Viewer,
    number: str | None = None,
    pk: int | None = None,
    snapshot: Snapshot | None = None,
) -> Ticket:
    """One visible ticket by number or id, or NotVisible (surfaces answer 404). People
    are joined; the configuration rows come from the snapshot (with_configuration; give
    one when reading several tickets)."""
    key, value = ("number", number) if number is not None else ("pk", pk)
    scope = readable_scope(user)
    kept = None
    if scope is not None and number is not None:
        kept = _kept_ticket_read(scope, connections[Ticket.objects.db].vendor)
    ticket: Ticket | None
    if kept is not None:  # the same read, its statement written once for the scope
        read, params = kept
        field = cast(Field[Any, Any], Ticket._meta.get_field("number"))
        row = read.one([*params, field.get_prep_value(number)])
        ticket = None
        if row is not None:
            ticket = cast(Ticket, row[0])
            for name, related in zip(TICKET_PEOPLE, row[1:], strict=True):
                # as select_related leaves them: read, or None for no such person
                cast(ForeignKey[Any, Any], Ticket._meta.get_field(name)).set_cached_value(
                    ticket, related
                )
    else:
        ticket = (
            tickets_readable_by(user=user)
            .select_related(*TICKET_PEOPLE)
            .filter(**{key: value})
            .first()
        )
    if ticket is None:
        raise NotVisible("Ticket not found.", code="ticket_not_found")
    return with_configuration([ticket], snapshot)[0]


# the people read with a ticket (joined); its configuration comes from the snapshot
TICKET_PEOPLE = ("requester", "organization", "assignee", "team")


@lru_cache(maxsize=1024)
def _kept_ticket_read(scope: AgentScope, vendor: str) -> tuple[RowQuery, tuple[Any, ...]] | None:
    """`ticket_get_for`'s read for an agent of `scope` (one ticket by number, as every
    page and action asks for it, with TICKET_PEOPLE), written once per process: the
    visibility is
    `agent_tickets(scope)`'s WHERE compiled to SQL (accounts.compiled), the rest from the
    models (accounts.rows.RowQuery). Compiling the ORM's version (the visibility and
    four joined tables of every column) cost 3 to 5 ms of each ticket page and action.
    None (the ORM's read) when the condition is not one WHERE. `vendor`: the database
    engine the SQL is written for."""
    try:
        where = compiled_where(agent_tickets(scope))
    except EmptyResultSet:
        return None
    if where is None or where[2] != vendor:
        return None
    sql, params, _ = where
    # the compiled WHERE names the ticket table itself, so the table keeps its name here
    table = connections[Ticket.objects.db].ops.quote_name(Ticket._meta.db_table)
    joined = [(User, "hd_rq"), (Organization, "hd_og"), (User, "hd_ag"), (Team, "hd_tm")]

    def tail(q: Quoter) -> str:
        joins = " ".join(
            f"LEFT OUTER JOIN {q.table(model)} {alias}"
            f" ON {alias}.{q.pk(model)} = {table}.{q.column(Ticket, name)}"
            for name, (model, alias) in zip(TICKET_PEOPLE, joined, strict=True)
        )
        number = q.column(Ticket, "number")
        return f"FROM {table} {joins} WHERE ({sql}) AND {table}.{number} = %s LIMIT 1"

    return RowQuery([(Ticket, table), *joined], tail), params


CONFIGURATION_RELATIONS = ("department", "topic", "sla", "priority", "status")


def with_configuration(tickets: list[Ticket], snapshot: Snapshot | None = None) -> list[Ticket]:
    """Give tickets their department, help topic, SLA, priority and status from the
    configuration snapshot (tickets.config): joining those five tables cost PostgreSQL
    more to plan than the whole read of the ticket."""
    snapshot = snapshot or Snapshot(HelpdeskSettings.load())
    for ticket in tickets:
        snapshot.fill(ticket, CONFIGURATION_RELATIONS)
    return tickets


def ticket_is_visible(*, user: Viewer, ticket: Ticket) -> bool:
    return tickets_readable_by(user=user).filter(pk=ticket.pk).exists()


def tickets_linked_to(*, user: Viewer, ticket: Ticket) -> QuerySet[Ticket]:
    """Tickets linked to `ticket` that `user` may see."""
    pairs = _KEPT_LINK_PAIRS(ticket_id=ticket.pk)
    ids = {i for pair in pairs for i in pair} - {ticket.pk}
    if not ids:  # most tickets: no statement to compile (nor to run)
        return Ticket.objects.none()
    return tickets_visible_to(user=user).filter(pk__in=ids)


_KEPT_LINK_PAIRS = KeptSelect(  # compiled once per process
    lambda ticket_id: TicketLink.objects.filter(
        Q(low_id=ticket_id) | Q(high_id=ticket_id)
    ).values_list("low_id", "high_id")
)


# --- tasks: agents only, never clients ------------------------------------------------


def tasks_visible_to(*, user: Viewer) -> QuerySet[Task]:
    """Tasks `user` may see.

    - helpdesk admins and the system: all, deleted ones included;
    - agents: tasks of departments they have access to (unless limited to assigned
      work), assigned to them or their teams, and the tasks of every ticket they see;
      never deleted ones;
    - an API key: tasks of the departments in its read scope (every department for a
      key of the whole helpdesk), never deleted ones;
    - clients and anyone else: none (tasks never reach the portal).
    """
    if is_api_key(user):
        tasks = Task.objects.exclude(state=TaskState.DELETED)
        if user.all_departments:
            return tasks
        return tasks.filter(department_id__in=user.read_departments)
    if is_system(user):
        return Task.objects.all()
    if (scope := agent_scope(user)) is not None:
        return agent_tasks(scope)
    if is_agent(user):  # a helpdesk admin
        return Task.objects.all()
    return Task.objects.none()


def tasks_assigned_to(*, user: User, teams: Iterable[int] | None = None) -> QuerySet[Task]:
    """The open tasks assigned to the agent or, given `teams` (ids of teams the agent is a
    member of), to those teams: part of what `tasks_visible_to` gives them (an assignment
    to them or their team is one of its conditions), read without its other conditions
    (the panel's header counts them on every page; its "mine" and "my teams" tabs)."""
    if teams is None:
        return Task.objects.filter(assignee_id=user.pk, state=TaskState.OPEN)
    member_of = Team.members.through.objects.filter(user_id=user.pk, team_id__in=teams)
    return Task.objects.filter(team_id__in=member_of.values("team_id"), state=TaskState.OPEN)


def task_get_for(*, user: Viewer, number: str | None = None, pk: int | None = None) -> Task:
    """One visible task by number or id, or NotVisible (surfaces answer 404)."""
    lookup = {"number": number} if number is not None else {"pk": pk}
    task = (
        tasks_visible_to(user=user)
        .select_related("department", "assignee", "team", "ticket")
        .filter(**lookup)
        .first()
    )
    if task is None:
        raise NotVisible("Task not found.", code="task_not_found")
    return task


def task_is_visible(*, user: Viewer, task: Task) -> bool:
    return tasks_visible_to(user=user).filter(pk=task.pk).exists()
