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
Clients hold no ticket.* permission; the services decide what a client may do
(post a message, close their own ticket) from visibility and settings.
"""

from accounts import permissions as perms
from accounts.actors import Actor, ApiKeyActor, is_agent, is_api_key, is_system
from accounts.errors import NotVisible, PermissionRefused
from accounts.models import User
from routing.models import Department

from .models import Ticket
from .selectors import ticket_is_visible

MANAGER_EXTRAS = frozenset({"ticket.release", "ticket.markanswered", "thread.edit"})


def ticket_permissions(actor: Actor, ticket: Ticket) -> frozenset[str]:
    """Role permissions the actor holds on this ticket (visibility checked apart)."""
    if is_api_key(actor):  # its write scope holds every ticket permission, the rest none
        return perms.ROLE_PERMISSIONS if actor.may_write(ticket.department_id) else frozenset()
    if is_system(actor):
        return perms.ROLE_PERMISSIONS
    if not is_agent(actor):
        return frozenset()
    if actor.is_helpdesk_admin:
        return perms.ROLE_PERMISSIONS
    role = perms.role_for(actor, ticket.department_id)
    if role is None and _assigned_to(actor, ticket):
        role = actor.role
    granted = frozenset(role.permissions) if role is not None else frozenset()
    if ticket.department.manager_id == actor.pk:
        granted |= MANAGER_EXTRAS
    return granted


def _assigned_to(agent: User, ticket: Ticket) -> bool:
    if ticket.assignee_id == agent.pk:
        return True
    return ticket.team_id is not None and agent.teams.filter(pk=ticket.team_id).exists()


def check_visible(actor: Actor, ticket: Ticket) -> None:
    """NotVisible unless the actor may see the ticket (the system sees every one)."""
    if not is_system(actor) and not ticket_is_visible(user=actor, ticket=ticket):
        raise NotVisible("Ticket not found.", code="ticket_not_found")


def check(actor: Actor, perm: str | frozenset[str], ticket: Ticket) -> None:
    """Raise NotVisible or PermissionRefused unless the actor may do `perm` (or any of a set)."""
    check_visible(actor, ticket)
    wanted = frozenset({perm}) if isinstance(perm, str) else perm
    if not (wanted & ticket_permissions(actor, ticket)):
        names = " or ".join(sorted(wanted))
        whose = "This API key's scope" if is_api_key(actor) else "Your role"
        raise PermissionRefused(
            f"{whose} in {ticket.department.name} does not allow {names}.",
            code="permission_denied",
        )


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
