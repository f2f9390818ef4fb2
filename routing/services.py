"""Routing decisions, and the writes of routing's configuration.

`route()` answers, for a new ticket, which department, SLA, priority, initial status
and assignee it gets. Precedence (osTicket's): an explicit choice (the caller or a
filter) -> the help topic -> the department -> the system defaults. Pure functions over
the data handed in: routing never imports tickets.

Departments, teams, help topics and SLAs are written by helpdesk admins through the
`*_save` / `*_delete` operations below, whichever channel they use (the API's
configuration endpoints, the Django admin): accounts.configuration holds their steps.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from accounts.actors import Actor
from accounts.configuration import config_delete, config_save
from accounts.errors import ValidationFailed
from accounts.models import User

from .models import SLA, BannedEmail, Department, HelpTopic, Team


@runtime_checkable
class SystemDefaults(Protocol):
    """What routing reads of the system defaults (set by admins in the helpdesk
    settings): `Defaults` below, or the tickets app's `SnapshotDefaults`, which reads
    each one from the configuration snapshot only when it is asked for."""

    @property
    def department(self) -> Department | None: ...
    @property
    def sla(self) -> SLA | None: ...
    @property
    def priority(self) -> object | None: ...  # tickets.Priority
    @property
    def status(self) -> object | None: ...  # tickets.TicketStatus (open state)
    @property
    def topic(self) -> HelpTopic | None: ...


@dataclass(frozen=True)
class Defaults:
    """System defaults given outright (a SystemDefaults)."""

    department: Department | None = None
    sla: SLA | None = None
    priority: object | None = None  # tickets.Priority
    status: object | None = None  # tickets.TicketStatus (open state)
    topic: HelpTopic | None = None


@dataclass(frozen=True)
class Route:
    department: Department
    topic: HelpTopic | None
    sla: SLA | None
    priority: object | None
    status: object | None
    agent: User | None
    team: Team | None


def route(
    *,
    defaults: SystemDefaults,
    topic: HelpTopic | None = None,
    department: Department | None = None,
    sla: SLA | None = None,
    priority: object | None = None,
    status: object | None = None,
    agent: User | None = None,
    team: Team | None = None,
) -> Route:
    if topic is not None and not topic.is_active:
        topic = None  # as osTicket: an inactive topic falls back to the default
    topic = topic or defaults.topic
    department = department or (topic.department if topic else None) or defaults.department
    if department is None:
        raise ValidationFailed(
            "No department for this ticket: choose one or set a default department.",
            code="no_department",
            fields={"department": ["This field is required."]},
        )
    if not department.is_active:
        raise ValidationFailed(
            f"The department {department.name} is not active.",
            code="inactive_department",
            fields={"department": ["This department is not active."]},
        )
    sla = sla or (topic.sla if topic else None) or department.sla or defaults.sla
    if sla is not None and not sla.is_active:
        sla = department.sla if department.sla and department.sla.is_active else defaults.sla
    priority = priority or (topic.priority if topic else None) or defaults.priority
    status = status or (topic.status if topic else None) or defaults.status
    if agent is None and team is None and topic is not None:
        agent, team = topic.assign_agent, topic.assign_team
    if agent is not None and not (agent.is_active and agent.is_agent):
        agent = None
    if team is not None and not team.is_active:
        team = None
    return Route(department, topic, sla, priority, status, agent, team)


def reselect_sla_on_transfer(
    *, current: SLA | None, department: Department, defaults: SystemDefaults
) -> SLA | None:
    """A transient SLA (or none) yields to the new department's SLA; others stay."""
    if current is None or current.is_transient:
        return department.sla or defaults.sla or current
    return current


# --- configuration: one operation each, for every channel --------------------------------


def department_save(
    *,
    actor: Actor,
    instance: Department,
    data: Mapping[str, object] | None = None,
    m2m: Mapping[str, Iterable[object]] | None = None,
) -> Department:
    """Add (an unsaved `instance`) or change a department (helpdesk admins)."""
    return config_save(actor=actor, instance=instance, data=data, m2m=m2m)


def department_delete(*, actor: Actor, instance: Department) -> None:
    """Delete a department nothing uses (`in_use` otherwise: deactivate it)."""
    config_delete(actor=actor, instance=instance)


def team_save(
    *,
    actor: Actor,
    instance: Team,
    data: Mapping[str, object] | None = None,
    m2m: Mapping[str, Iterable[object]] | None = None,
) -> Team:
    """Add or change a team; `m2m={"members": [...]}` replaces its members."""
    return config_save(actor=actor, instance=instance, data=data, m2m=m2m)


def team_delete(*, actor: Actor, instance: Team) -> None:
    config_delete(actor=actor, instance=instance)


def topic_save(
    *,
    actor: Actor,
    instance: HelpTopic,
    data: Mapping[str, object] | None = None,
    m2m: Mapping[str, Iterable[object]] | None = None,
) -> HelpTopic:
    """Add or change a help topic."""
    return config_save(actor=actor, instance=instance, data=data, m2m=m2m)


def topic_delete(*, actor: Actor, instance: HelpTopic) -> None:
    config_delete(actor=actor, instance=instance)


def sla_save(
    *,
    actor: Actor,
    instance: SLA,
    data: Mapping[str, object] | None = None,
    m2m: Mapping[str, Iterable[object]] | None = None,
) -> SLA:
    """Add or change an SLA plan."""
    return config_save(actor=actor, instance=instance, data=data, m2m=m2m)


def sla_delete(*, actor: Actor, instance: SLA) -> None:
    config_delete(actor=actor, instance=instance)


# --- the ban list: helpdesk admins and agents with emails.banlist ----------------------


def banned_email_add(*, actor: Actor, address: str, notes: str = "") -> BannedEmail:
    """Ban an address (jane@example.com) or a whole domain (@example.com): mail, portal
    and API tickets from it are rejected. An address already banned is refused
    (ValidationFailed on `address`)."""
    ban = BannedEmail(address=(address or "").strip().lower(), notes=(notes or "")[:255])
    return config_save(actor=actor, instance=ban, agent_perm="emails.banlist")


def banned_email_remove(*, actor: Actor, instance: BannedEmail) -> None:
    config_delete(actor=actor, instance=instance, agent_perm="emails.banlist")
