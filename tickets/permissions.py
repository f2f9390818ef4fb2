"""`can(actor, perm, ticket)`: the one decision on what an actor may do to a ticket.

First visibility (the selectors): a ticket the actor may not see is NotVisible (404).
Then the role effective in the ticket's department:
- the primary role in the primary department, the access's role in an extra one;
- an agent who sees the ticket only because it is assigned to them or their team uses
  their primary role (osTicket's "use primary role on assignment");
- one who sees it only by a referral gets no role permissions: they can read it and
  post internal notes;
- the department's manager also may release, mark answered and edit entries;
- helpdesk admins hold every permission; the system actor is never refused;
- an API key sees the departments of its read scope and holds every permission in
  those of its write scope, none elsewhere: its scope is its role. It opens tickets
  only where routing sends them inside its write scope, and only with the
  `can_create_tickets` capability (`check_open`).
Clients hold no ticket.* permission: what a client may do with a ticket they see
(post a message, close their own ticket) is decided from the ticket's state and the
settings by `client_refusal`, which the services enforce and the portal asks
(`client_actions`) to offer exactly that.
"""

from accounts import permissions as perms
from accounts.actors import Actor, ApiKeyActor, is_agent, is_api_key, is_client, is_system
from accounts.errors import Conflict, DomainError, NotVisible, PermissionRefused
from accounts.models import User
from routing.models import Department

from .models import HelpdeskSettings, State, Task, Ticket, TicketStatus
from .selectors import task_is_visible, ticket_is_visible

MANAGER_EXTRAS = frozenset({"ticket.release", "ticket.markanswered", "thread.edit"})


def role_permissions(
    actor: Actor, department_id: int, *, work: Ticket | Task | None = None
) -> frozenset[str]:
    """Role permissions the actor holds in a department, on a ticket or task there
    (`work`, which may be assigned to them) or on one to be created there (visibility
    checked apart)."""
    if is_api_key(actor):  # its write scope holds every permission, the rest none
        return perms.ROLE_PERMISSIONS if actor.may_write(department_id) else frozenset()
    if is_system(actor):
        return perms.ROLE_PERMISSIONS
    if not is_agent(actor):
        return frozenset()
    if actor.is_helpdesk_admin:
        return perms.ROLE_PERMISSIONS
    role = perms.role_for(actor, department_id)
    if role is None and work is not None and _assigned_to(actor, work):
        role = actor.role
    return frozenset(role.permissions) if role is not None else frozenset()


def ticket_permissions(actor: Actor, ticket: Ticket) -> frozenset[str]:
    """Role permissions the actor holds on this ticket (visibility checked apart)."""
    granted = role_permissions(actor, ticket.department_id, work=ticket)
    if is_agent(actor) and ticket.department.manager_id == actor.pk:
        granted |= MANAGER_EXTRAS
    return granted


def _assigned_to(agent: User, work: Ticket | Task) -> bool:
    if work.assignee_id == agent.pk:
        return True
    return work.team_id is not None and agent.teams.filter(pk=work.team_id).exists()


def check_visible(actor: Actor, ticket: Ticket) -> None:
    """NotVisible unless the actor may see the ticket (the system sees every one)."""
    if not is_system(actor) and not ticket_is_visible(user=actor, ticket=ticket):
        raise NotVisible("Ticket not found.", code="ticket_not_found")


def check(actor: Actor, perm: str | frozenset[str], ticket: Ticket) -> None:
    """Raise NotVisible or PermissionRefused unless the actor may do `perm` (or any of a set)."""
    check_visible(actor, ticket)
    _require(actor, perm, ticket_permissions(actor, ticket), ticket.department)


def _require(
    actor: Actor, perm: str | frozenset[str], granted: frozenset[str], department: Department
) -> None:
    wanted = frozenset({perm}) if isinstance(perm, str) else perm
    if not (wanted & granted):
        names = " or ".join(sorted(wanted))
        whose = "This API key's scope" if is_api_key(actor) else "Your role"
        raise PermissionRefused(
            f"{whose} in {department.name} does not allow {names}.",
            code="permission_denied",
            extra={"permission": names, "department_id": department.pk},
        )


# --- tasks ----------------------------------------------------------------------------


def check_task_visible(actor: Actor, task: Task) -> None:
    """NotVisible unless the actor may see the task (the system sees every one)."""
    if not is_system(actor) and not task_is_visible(user=actor, task=task):
        raise NotVisible("Task not found.", code="task_not_found")


def check_task(actor: Actor, perm: str, task: Task) -> None:
    """Raise NotVisible or PermissionRefused unless the actor may do `perm` to the task:
    the role effective in the task's department, as for tickets (an agent who sees a
    task only through its ticket may read it and nothing more)."""
    check_task_visible(actor, task)
    _require(actor, perm, role_permissions(actor, task.department_id, work=task), task.department)


def check_task_create(actor: Actor, department: Department, ticket: Ticket | None) -> None:
    """May the actor open a task in `department` (of `ticket`, which they must see)?
    `task.create` in the ticket's department for a ticket's task (osTicket), in the
    task's department for a standalone one; an API key needs the task's department in
    its write scope."""
    if ticket is not None:
        check(actor, "task.create", ticket)
    else:
        _require(actor, "task.create", role_permissions(actor, department.pk), department)
    check_key_department(actor, department, "task.create")


def check_key_writes(actor: Actor, ticket: Ticket) -> None:
    """For what needs no role permission from an agent (a client message, an internal
    note): an API key must still hold the ticket's department in its write scope. The
    caller has checked visibility."""
    if is_api_key(actor) and not actor.may_write(ticket.department_id):
        raise PermissionRefused(
            f"This API key's scope in {ticket.department.name} does not allow changes.",
            code="permission_denied",
        )


def check_key_department(actor: Actor, department: Department, perm: str) -> None:
    """An API key acting towards a department (opening a ticket routed there,
    transferring one there) must hold it in its write scope, as it must hold the
    department of any ticket it changes."""
    if is_api_key(actor) and not actor.may_write(department.pk):
        raise PermissionRefused(
            f"This API key's scope in {department.name} does not allow {perm}.",
            code="permission_denied",
        )


def check_open(actor: ApiKeyActor, department: Department) -> None:
    """May this key open a ticket that routing sends to `department`?"""
    if not actor.can_create_tickets:
        raise PermissionRefused("This API key may not create tickets.", code="permission_denied")
    check_key_department(actor, department, "ticket.create")


def can(actor: Actor, perm: str | frozenset[str], ticket: Ticket) -> bool:
    try:
        check(actor, perm, ticket)
    except (NotVisible, PermissionRefused):
        return False
    return True


# --- what a client may do with a ticket they see --------------------------------------

CLIENT_REPLY = "reply"  # post a message; a closed ticket reopens when its status allows
CLIENT_CLOSE = "close"  # close their own open ticket, when clients may close
CLIENT_ACTIONS = (CLIENT_REPLY, CLIENT_CLOSE)


def reopen_target(ticket: Ticket, config: HelpdeskSettings) -> TicketStatus | None:
    """The status a message reopens this closed ticket to (the status's own reopen
    status, else the default status), or None when its status does not allow it."""
    if not ticket.status.allow_reopen:
        return None
    return ticket.status.reopen_status or config.default_status


def client_refusal(
    actor, action: str, ticket: Ticket, config: HelpdeskSettings
) -> DomainError | None:
    """Why `actor` may not do `action` (CLIENT_REPLY, CLIENT_CLOSE) to a ticket they see,
    or None when they may. A message (CLIENT_REPLY) follows the same rule whoever posts it
    for the client side: the portal, the API, or the mail channel as the system."""
    if action == CLIENT_REPLY:
        if ticket.state == State.OPEN:
            return None
        if ticket.state == State.CLOSED:
            if reopen_target(ticket, config) is not None:
                return None
            return Conflict(
                f"Ticket #{ticket.number} is closed and cannot be reopened.",
                code="ticket_closed",
            )
        return Conflict(
            f"Ticket #{ticket.number} is {ticket.get_state_display().lower()}: "
            "cannot receive messages.",
            code=f"ticket_{ticket.state}",
        )
    if action == CLIENT_CLOSE:
        if (
            is_client(actor)
            and config.clients_can_close
            and ticket.requester_id == actor.pk
            and ticket.state == State.OPEN
        ):
            return None
        return PermissionRefused(
            "You may not change the status of this ticket.", code="permission_denied"
        )
    raise ValueError(f"Unknown client action {action!r}.")


def client_actions(actor, ticket: Ticket, config: HelpdeskSettings | None = None) -> frozenset:
    """What a client may do with a ticket read for them through the selectors (so
    visible): the portal offers exactly these; the services refuse the rest."""
    config = config or HelpdeskSettings.load()
    return frozenset(a for a in CLIENT_ACTIONS if client_refusal(actor, a, ticket, config) is None)
