"""The permission vocabulary (osTicket's names) and the rules that resolve them.

Two kinds, as in osTicket:
- department permissions live on a Role; an agent's role depends on the department
  (primary department -> primary role; extra departments -> the role of that access);
- agent-wide permissions live on the agent record and apply everywhere.
Helpdesk admins hold every permission. See docs/permissions.md for what each gates.
Ticket-level decisions (is this agent allowed to do X to this ticket?) combine these
with visibility in `tickets.permissions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from .compiled import KeptSelect
from .errors import PermissionRefused

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django_stubs_ext import StrOrPromise

    from .models import DepartmentAccess, Role, User


@dataclass(frozen=True)
class Perm:
    key: str
    label: StrOrPromise
    group: str
    agent_wide: bool = False


PERMISSIONS: tuple[Perm, ...] = (
    Perm("ticket.create", _("Create tickets on behalf of users"), "Tickets"),
    Perm("ticket.edit", _("Edit ticket fields, priority, due date and collaborators"), "Tickets"),
    Perm("ticket.assign", _("Assign and claim tickets"), "Tickets"),
    Perm("ticket.release", _("Release a ticket's assignment"), "Tickets"),
    Perm("ticket.transfer", _("Transfer tickets to another department"), "Tickets"),
    Perm("ticket.refer", _("Refer tickets to agents, teams or departments"), "Tickets"),
    Perm("ticket.merge", _("Merge tickets"), "Tickets"),
    Perm("ticket.link", _("Link and unlink tickets"), "Tickets"),
    Perm("ticket.reply", _("Post replies to the client"), "Tickets"),
    Perm("ticket.markanswered", _("Mark tickets answered or unanswered"), "Tickets"),
    Perm("ticket.close", _("Close, reopen and archive tickets"), "Tickets"),
    Perm("ticket.delete", _("Delete and restore tickets"), "Tickets"),
    Perm("thread.edit", _("Edit other agents' thread entries"), "Tickets"),
    Perm("task.create", _("Create tasks"), "Tasks"),
    Perm("task.edit", _("Edit tasks"), "Tasks"),
    Perm("task.assign", _("Assign, claim and release tasks"), "Tasks"),
    Perm("task.transfer", _("Transfer tasks to another department"), "Tasks"),
    Perm("task.reply", _("Post task updates"), "Tasks"),
    Perm("task.close", _("Close and reopen tasks"), "Tasks"),
    Perm("task.delete", _("Delete tasks"), "Tasks"),
    Perm("canned.manage", _("Manage canned responses"), "Knowledge base"),
    Perm("faq.manage", _("Manage the knowledge base"), "Knowledge base", agent_wide=True),
    Perm("user.create", _("Add users"), "Users", agent_wide=True),
    Perm("user.edit", _("Edit users"), "Users", agent_wide=True),
    Perm("user.delete", _("Delete users"), "Users", agent_wide=True),
    Perm(
        "user.manage", _("Manage user accounts (register, lock, reset)"), "Users", agent_wide=True
    ),
    Perm("user.dir", _("Browse the user directory"), "Users", agent_wide=True),
    Perm("org.create", _("Add organizations"), "Organizations", agent_wide=True),
    Perm("org.edit", _("Edit organizations"), "Organizations", agent_wide=True),
    Perm("org.delete", _("Delete organizations"), "Organizations", agent_wide=True),
    Perm("visibility.departments", _("See all departments"), "Miscellaneous", agent_wide=True),
    Perm("visibility.agents", _("See agents of all departments"), "Miscellaneous", agent_wide=True),
    Perm("emails.banlist", _("Add and remove banlist entries"), "Miscellaneous", agent_wide=True),
    Perm("stats.agents", _("See other agents' statistics"), "Miscellaneous", agent_wide=True),
    Perm("search.all", _("Search ignores access restrictions"), "Miscellaneous", agent_wide=True),
)

BY_KEY = {p.key: p for p in PERMISSIONS}
ROLE_PERMISSIONS = frozenset(p.key for p in PERMISSIONS if not p.agent_wide)
AGENT_PERMISSIONS = frozenset(p.key for p in PERMISSIONS if p.agent_wide)

TICKET_PERMISSIONS = frozenset(k for k in ROLE_PERMISSIONS if k.startswith("ticket."))
TASK_PERMISSIONS = frozenset(k for k in ROLE_PERMISSIONS if k.startswith("task."))

# osTicket's four seeded roles (include/i18n/en_US/role.yaml). Migration
# accounts/0008 gave existing roles the task.* permissions they lacked.
SEED_ROLES: dict[str, frozenset[str]] = {
    "All Access": ROLE_PERMISSIONS,
    "Expanded Access": ROLE_PERMISSIONS
    - {"ticket.markanswered", "ticket.delete", "task.delete", "thread.edit"},
    "Limited Access": frozenset(
        {
            "ticket.create",
            "ticket.merge",
            "ticket.link",
            "ticket.assign",
            "ticket.release",
            "ticket.transfer",
            "ticket.refer",
            "ticket.reply",
            "task.create",
            "task.assign",
            "task.transfer",
            "task.reply",
        }
    ),
    "View only": frozenset(),
}


def unknown_keys(keys: Iterable[str], *, agent_wide: bool) -> list[str]:
    allowed = AGENT_PERMISSIONS if agent_wide else ROLE_PERMISSIONS
    return sorted(set(keys) - allowed)


def role_for(agent: User, department_id: int | None) -> Role | None:
    """The Role effective for `agent` in a department, or None without access there.

    Primary department -> primary role; an extra department -> the role of that
    access. Uses the accesses cached on the agent (see `agent_accesses`).
    """
    if department_id is None:
        return None
    if agent.department_id == department_id:
        return agent.role
    return agent_accesses(agent).get(department_id)


def agent_accesses(agent: User) -> dict[int, Role]:
    """{department id: role} of the agent's extra departments, cached on the instance."""
    cached: dict[int, Role] | None = getattr(agent, "_dept_access_cache", None)
    if cached is None:
        cached = {a.department_id: a.role for a in _KEPT_ACCESSES(agent_id=agent.pk)}
        agent._dept_access_cache = cached  # type: ignore[attr-defined]  # a per-instance cache
    return cached


def _accesses_of(agent_id: int) -> QuerySet[DepartmentAccess]:
    from .models import DepartmentAccess

    return DepartmentAccess.objects.filter(agent_id=agent_id).select_related("role")


_KEPT_ACCESSES = KeptSelect(_accesses_of)  # every page asks: compiled once per process


def department_ids(agent: User) -> set[int]:
    """Every department the agent has access to (primary and extra)."""
    ids = set(agent_accesses(agent))
    if agent.department_id:
        ids.add(agent.department_id)
    return ids


def has_role_perm(agent: User, perm: str, department_id: int | None) -> bool:
    """Does the agent's role in that department grant `perm`? Admins: always."""
    if not (agent.is_active and agent.is_agent):
        return False
    if agent.is_helpdesk_admin:
        return True
    role = role_for(agent, department_id)
    return role is not None and perm in role.permissions


def has_agent_perm(agent: User, perm: str) -> bool:
    """An agent-wide permission (user.*, org.*, faq.manage, ...). Admins: always."""
    if not (agent.is_active and agent.is_agent):
        return False
    return agent.is_helpdesk_admin or perm in (agent.permissions or ())


def require_agent_perm(agent: User, perm: str) -> None:
    """PermissionRefused (naming `perm`, for the panel's refusal page) unless the agent
    holds this agent-wide permission."""
    if not has_agent_perm(agent, perm):
        raise PermissionRefused(
            f"You need the {perm} permission for this.",
            code="permission_denied",
            extra={"permission": perm},
        )
