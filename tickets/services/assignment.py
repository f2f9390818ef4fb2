"""Who works a ticket: assign, claim, release, transfer, refer. The steps a task's
assignment shares (validate, reassign, unassign, claim) are written once here, for a
ticket or a task (`_common.Work`)."""

from django.db import transaction

from accounts import permissions as perms
from accounts.actors import Actor, is_agent
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import User
from routing import services as routing
from routing.models import Department, Team
from routing.sla import sla_due_at
from threads import services as threads
from threads.models import ThreadEvent

from .. import signals
from ..models import HelpdeskSettings, State, Ticket
from ..permissions import check, check_key_department
from ._common import (
    Work,
    announce,
    channel_of,
    clock_start,
    defaults,
    label,
    lock,
    record,
    ref,
    require_state,
    save,
)


def validate_assignee(agent: User, dept: Department) -> None:
    """May `agent` hold a ticket or task of `dept`? (active agent; a member when the
    department assigns only to its own)."""
    if not (agent.is_agent and agent.is_active):
        raise ValidationFailed(
            f"{agent} is not an active agent.",
            code="invalid_assignee",
            fields={"agent": ["Not an active agent."]},
        )
    if dept.assign_members_only and dept.pk not in perms.department_ids(agent):
        raise ValidationFailed(
            f"{dept.name} assigns only to its own agents; {agent} is not one.",
            code="assignee_not_member",
            fields={"agent": [f"Not a member of {dept.name}."]},
        )


def validate_team(team: Team) -> None:
    if not team.is_active:
        raise ValidationFailed(
            f"The team {team} is not active.", code="invalid_team", fields={"team": ["Not active."]}
        )


def validate_department(department: Department) -> None:
    if not department.is_active:
        raise ValidationFailed(
            f"The department {department.name} is not active.",
            code="inactive_department",
            fields={"department": ["Not active."]},
        )


def validate_transfer(department: Department, work: Work) -> None:
    """A transfer goes to another, active department."""
    if department.pk == work.department_id:
        raise ValidationFailed(
            f"{label(work)} is already in {department.name}.",
            code="same_department",
            fields={"department": ["Already in this department."]},
        )
    validate_department(department)


def require_choice(agent: User | None, team: Team | None) -> None:
    if agent is None and team is None:
        raise ValidationFailed(
            "Choose an agent or a team.",
            code="no_assignee",
            fields={"agent": ["Choose an agent or a team."]},
        )


def reassign(
    w: Work, agent: User | None, team: Team | None, *, actor: Actor, channel: str, comment: str
) -> tuple[User | None, Team | None] | None:
    """Give the locked ticket or task `agent` and/or `team` (each validated; the one not
    given is kept), record and save it. Returns the previous agent and team, or None
    when nothing changed (nothing is written then)."""
    if agent is not None:
        validate_assignee(agent, w.department)
    if team is not None:
        validate_team(team)
    previous_agent, previous_team = w.assignee, w.team
    w.assignee = agent if agent is not None else w.assignee
    w.team = team if team is not None else w.team
    if (w.assignee_id, w.team_id) == (
        getattr(previous_agent, "pk", None),
        getattr(previous_team, "pk", None),
    ):
        return None
    record(
        w,
        ThreadEvent.Kind.ASSIGNED,
        actor,
        channel,
        agent=ref(w.assignee),
        team=ref(w.team),
        previous_agent=ref(previous_agent),
        previous_team=ref(previous_team),
        comment=comment,
    )
    save(w, "assignee", "team")
    return previous_agent, previous_team


def unassign(
    w: Work, *, agent: bool, team: bool, actor: Actor, channel: str
) -> tuple[User | None, Team | None]:
    """Drop the locked ticket's or task's agent and/or team, record and save it; returns
    the previous agent and team. Refused when it holds neither of those asked."""
    previous_agent, previous_team = w.assignee, w.team
    if not ((agent and previous_agent) or (team and previous_team)):
        raise Conflict(f"{label(w)} is not assigned.", code="not_assigned")
    if agent:
        w.assignee = None
    if team:
        w.team = None
    record(
        w,
        ThreadEvent.Kind.RELEASED,
        actor,
        channel,
        previous_agent=ref(previous_agent),
        previous_team=ref(previous_team),
    )
    save(w, "assignee", "team")
    return previous_agent, previous_team


def require_claimable(w: Work, agent: User) -> None:
    """A claim takes what no agent holds: of two agents claiming at once, the row lock
    lets one win and the other is told who did."""
    if w.assignee_id == agent.pk:
        raise Conflict(f"You already hold {label(w).lower()}.", code="already_yours")
    if w.assignee_id is not None:
        raise Conflict(f"{label(w)} is already assigned to {w.assignee}.", code="already_assigned")
    validate_assignee(agent, w.department)


def ticket_assign(
    *,
    actor: Actor,
    ticket: Ticket,
    agent: User | None = None,
    team: Team | None = None,
    comment: str = "",
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Assign to an agent and/or a team (replacing what is given, keeping the other)."""
    channel = channel_of(actor, channel)
    require_choice(agent, team)
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.assign", t)
        require_state(t, State.OPEN, action="assign")
        previous = reassign(t, agent, team, actor=actor, channel=channel, comment=comment)
        if previous is None:
            return t
        previous_agent, previous_team = previous
        announce_assignment(
            t,
            actor=actor,
            channel=channel,
            agent=t.assignee,
            previous_agent=previous_agent,
            previous_team=previous_team,
        )
    return t


def ticket_claim(*, actor: Actor, ticket: Ticket, channel: str | None = None) -> Ticket:
    """Self-assign an open ticket that no agent holds. Of two agents claiming at once,
    the row lock lets exactly one win; the other gets a conflict naming the winner."""
    channel = channel_of(actor, channel)
    if not is_agent(actor):
        raise PermissionRefused("Only agents claim tickets.", code="permission_denied")
    with transaction.atomic():
        t = lock(ticket)
        check(actor, "ticket.assign", t)
        require_state(t, State.OPEN, action="claim")
        require_claimable(t, actor)
        claim(t, actor, channel)
        save(t, "assignee")
        announce_claim(t, actor=actor, channel=channel)
    return t


def claim(t: Work, actor: User, channel: str, *, auto: bool = False) -> None:
    """Make the agent the assignee of the locked, unassigned ticket or task `t` and
    record it; the caller saves the row, then announces the claim."""
    t.assignee = actor
    extra = {"auto": True} if auto else {}
    record(
        t,
        ThreadEvent.Kind.ASSIGNED,
        actor,
        channel,
        agent=ref(actor),
        team=ref(t.team),
        claimed=True,
        **extra,
    )


def claim_on_reply(t: Ticket, actor: Actor, channel: str) -> User | None:
    """osTicket's "claim on response": an agent answering an unassigned open ticket of a
    department that wants it becomes the assignee (if they may be assigned there).
    Returns that agent, or None."""
    dept = t.department
    if not (
        is_agent(actor) and t.state == State.OPEN and t.assignee_id is None and dept.claim_on_reply
    ):
        return None
    if dept.assign_members_only and dept.pk not in perms.department_ids(actor):
        return None
    claim(t, actor, channel, auto=True)
    return actor


def announce_claim(t: Ticket, *, actor: User, channel: str) -> None:
    """The one sender of ticket_assigned for a claim (ticket_claim, a reply that claims)."""
    announce_assignment(
        t,
        actor=actor,
        channel=channel,
        agent=actor,
        previous_agent=None,
        previous_team=t.team,
        claimed=True,
    )


def announce_assignment(
    t: Ticket,
    *,
    actor: Actor,
    channel: str,
    agent: User | None,
    previous_agent: User | None,
    previous_team: Team | None,
    claimed: bool = False,
) -> None:
    """Send ticket_assigned after commit, with the ticket's team as it is now: the one
    sender for an assignment, a claim, and a close or reopen that hands the ticket over."""
    announce(
        signals.ticket_assigned,
        t,
        actor,
        channel,
        agent=agent,
        team=t.team,
        claimed=claimed,
        previous_agent=previous_agent,
        previous_team=previous_team,
    )


def ticket_release(
    *,
    actor: Actor,
    ticket: Ticket,
    agent: bool = True,
    team: bool = True,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Drop the agent and/or team assignment."""
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.release", t)
        previous_agent, previous_team = unassign(
            t, agent=agent, team=team, actor=actor, channel=channel
        )
        announce(
            signals.ticket_released,
            t,
            actor,
            channel,
            previous_agent=previous_agent,
            previous_team=previous_team,
        )
    return t


def ticket_transfer(
    *,
    actor: Actor,
    ticket: Ticket,
    department: Department,
    comment: str = "",
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Move an open ticket to another department; a transient SLA yields to the new
    department's, and the due date is counted again from the clock's start. An API key
    transfers only into its write scope."""
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.transfer", t)
        check_key_department(actor, department, "ticket.transfer")
        require_state(t, State.OPEN, action="transfer")
        validate_transfer(department, t)
        previous = t.department
        previous_sla = t.sla
        t.department = department
        t.sla = routing.reselect_sla_on_transfer(
            current=t.sla, department=department, defaults=defaults(config)
        )
        t.sla_due_at = sla_due_at(clock_start(t), t.sla)
        record(
            t,
            ThreadEvent.Kind.TRANSFERRED,
            actor,
            channel,
            before=ref(previous),
            after=ref(department),
            sla_before=ref(previous_sla),
            sla_after=ref(t.sla),
            comment=comment,
        )
        save(t, "department", "sla", "sla_due_at")
        announce(
            signals.ticket_transferred,
            t,
            actor,
            channel,
            previous_department=previous,
            department=department,
        )
    return t


def ticket_refer(
    *,
    actor: Actor,
    ticket: Ticket,
    agent: User | None = None,
    team: Team | None = None,
    department: Department | None = None,
    comment: str = "",
    channel: str | None = None,
) -> Ticket:
    """Let an agent, a team or a department see the ticket without transferring it."""
    channel = channel_of(actor, channel)
    targets = [x for x in (agent, team, department) if x is not None]
    if len(targets) != 1:
        raise ValidationFailed("Refer to exactly one agent, team or department.", code="one_target")
    if agent is not None and not (agent.is_agent and agent.is_active):
        raise ValidationFailed(f"{agent} is not an active agent.", code="invalid_agent")
    with transaction.atomic():
        t = lock(ticket)
        check(actor, "ticket.refer", t)
        require_state(t, State.OPEN, State.CLOSED, action="refer")
        if department is not None and department.pk == t.department_id:
            raise ValidationFailed(
                f"Ticket #{t.number} is already in {department.name}.", code="same_department"
            )
        referral, created = threads.referral_add(
            thread_id=t.thread_id, agent=agent, team=team, department=department
        )
        if not created:
            raise Conflict(
                f"Ticket #{t.number} is already referred to {targets[0]}.", code="already_referred"
            )
        target_kind = "agent" if agent else "team" if team else "department"
        record(
            t,
            ThreadEvent.Kind.REFERRED,
            actor,
            channel,
            target_kind=target_kind,
            target=ref(targets[0]),
            comment=comment,
        )
        save(t)
        announce(signals.ticket_referred, t, actor, channel, referral=referral)
    return t
