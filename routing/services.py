"""Routing decisions. Pure functions over the data handed in: routing never imports tickets.

`route()` answers, for a new ticket, which department, SLA, priority, initial status
and assignee it gets. Precedence (osTicket's): an explicit choice (the caller or a
filter) -> the help topic -> the department -> the system defaults.
"""

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from accounts.errors import ValidationFailed
from accounts.models import User

from .models import SLA, Department, HelpTopic, Team


@runtime_checkable
class SystemDefaults(Protocol):
    """What routing reads of the system defaults (set by admins in the helpdesk
    settings): `Defaults` below, or the tickets app's defaults, which read each one
    from the configuration snapshot only when it is asked for."""

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
