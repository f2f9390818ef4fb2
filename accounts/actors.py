"""Who acts: the one `Actor` type every service takes (`actor: Actor`).

An actor is one of four kinds, told apart only by the predicates below:

- an **agent**: an active `User` with `is_agent` (roles per department, `can()`);
- a **client**: an active, signed-in `User` without `is_agent` (visibility and settings);
- an **API key**: `ApiKeyActor`, an integration with a scope, the whole helpdesk (as
  osTicket's keys) or a read and a write scope over departments, and its capabilities
  (open tickets, run the cron jobs, relay mail). The services treat its scope as they
  treat an agent's departments: it sees the tickets of its read departments, changes
  those of its write departments, and opens tickets only where routing sends them
  inside its write scope (`tickets.permissions`); a key for the whole helpdesk reads
  and writes every department;
- the **system**: `SYSTEM`, for cron jobs, filters and the mail channel when no person
  is behind a change; never refused.

An API key is not the system: `is_system()` is true for `SystemActor` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeAlias, TypeGuard

from django.contrib.auth.models import AnonymousUser

from .models import User

if TYPE_CHECKING:
    from typing_extensions import TypeIs


@dataclass(frozen=True)
class SystemActor:
    """The helpdesk itself (cron, filters, mail): sees everything, never refused."""

    label: str = "system"
    is_authenticated: ClassVar[bool] = False
    is_agent: ClassVar[bool] = False
    pk: ClassVar[None] = None
    id: ClassVar[None] = None

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class ApiKeyActor:
    """An API key calling (channel `api`), loaded by `accounts.apikeys.actor_for_key`.

    `all_departments`: the whole helpdesk (every department read and written; the lists
    are empty). Otherwise `read_departments` and `write_departments` hold department ids
    (writing implies reading: `actor_for_key` puts the write departments in the read
    scope too). The capabilities are the key's flags. `key_id` is None for a key deleted
    since (the mail channel's reprocessing): such an actor has no scope and no
    capability.
    """

    key_id: int | None
    label: str
    can_create_tickets: bool = False
    can_exec_cron: bool = False
    is_mail_relay: bool = False  # its raw mail's Authentication-Results are believed
    all_departments: bool = False  # the whole helpdesk, as osTicket's keys
    read_departments: frozenset[int] = frozenset()
    write_departments: frozenset[int] = frozenset()
    # what Django and DRF read on request.user
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False
    is_active: ClassVar[bool] = True
    is_agent: ClassVar[bool] = False
    is_helpdesk_admin: ClassVar[bool] = False
    pk: ClassVar[None] = None
    id: ClassVar[None] = None

    def __str__(self) -> str:
        return self.label

    def may_read(self, department_id: int | None) -> bool:
        return self.all_departments or department_id in self.read_departments

    def may_write(self, department_id: int | None) -> bool:
        return self.all_departments or department_id in self.write_departments


SYSTEM = SystemActor()

Actor: TypeAlias = User | ApiKeyActor | SystemActor
"""Whoever a service acts for: an agent or a client (`User`), an API key, the system."""

Viewer: TypeAlias = Actor | AnonymousUser
"""Whoever a selector answers: an actor, or nobody signed in (who sees nothing)."""


def is_system(actor: object) -> TypeIs[SystemActor]:
    return isinstance(actor, SystemActor)


def is_api_key(actor: object) -> TypeIs[ApiKeyActor]:
    return isinstance(actor, ApiKeyActor)


def _user(actor: object) -> User | None:
    return actor if isinstance(actor, User) else None


def is_agent(actor: object) -> TypeGuard[User]:
    """An active agent."""
    user = _user(actor)
    return user is not None and user.is_agent and user.is_active


def is_client(actor: object) -> TypeGuard[User]:
    """An active, signed-in user who is not an agent."""
    user = _user(actor)
    return user is not None and not user.is_agent and user.is_active


def actor_label(actor: Viewer | None) -> str:
    """How the audit trail names the actor."""
    if actor is None:
        return ""
    if isinstance(actor, SystemActor | ApiKeyActor):
        return actor.label
    return str(getattr(actor, "display_name", actor))


def actor_user(actor: Viewer | None) -> User | None:
    """The User behind an actor, or None for the system, an API key or nobody."""
    return _user(actor)
