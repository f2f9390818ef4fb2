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
  those of its write scope, none elsewhere.
Clients hold no ticket.* permission; the services decide what a client may do
(post a message, close their own ticket) from visibility and settings.
"""

from accounts import permissions as perms
from accounts.actors import is_system
from accounts.apikeys import is_api_key
from accounts.errors import NotVisible, PermissionRefused

from .models import Ticket
from .selectors import ticket_is_visible

MANAGER_EXTRAS = frozenset({"ticket.release", "ticket.markanswered", "thread.edit"})


def ticket_permissions(actor, ticket: Ticket) -> frozenset[str]:
    """Role permissions the actor holds on this ticket (visibility checked apart)."""
    if is_api_key(actor):  # its write scope holds every ticket permission, the rest none
        return (
            perms.ROLE_PERMISSIONS
            if ticket.department_id in actor.write_departments
            else frozenset()
        )
    if is_system(actor):
        return perms.ROLE_PERMISSIONS
    if not (getattr(actor, "is_agent", False) and actor.is_active):
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


def _assigned_to(agent, ticket: Ticket) -> bool:
    if ticket.assignee_id == agent.pk:
        return True
    return ticket.team_id is not None and agent.teams.filter(pk=ticket.team_id).exists()


def check_visible(actor, ticket: Ticket) -> None:
    if (is_api_key(actor) or not is_system(actor)) and not ticket_is_visible(
        user=actor, ticket=ticket
    ):
        raise NotVisible("Ticket not found.", code="ticket_not_found")


def check(actor, perm: str | frozenset[str], ticket: Ticket) -> None:
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


def can(actor, perm: str | frozenset[str], ticket: Ticket) -> bool:
    try:
        check(actor, perm, ticket)
    except (NotVisible, PermissionRefused):
        return False
    return True
