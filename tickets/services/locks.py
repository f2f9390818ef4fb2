"""Collision avoidance: an agent composing a reply holds the ticket for a while.

The panel acquires the lock when an agent starts typing and renews it while they type;
the reply service refuses a reply while another agent's lock is active. A department
manager or a helpdesk admin may break someone else's lock. `lock_minutes = 0` in the
settings turns locks off.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, is_agent
from accounts.errors import Conflict, PermissionRefused
from accounts.models import User

from ..models import HelpdeskSettings, Ticket, TicketLock
from ..permissions import check_visible
from ._common import lock


def may_break_lock(agent: User, ticket: Ticket) -> bool:
    return agent.is_helpdesk_admin or ticket.department.manager_id == agent.pk


def lock_conflict(ticket: Ticket, held: TicketLock) -> Conflict:
    until = timezone.localtime(held.expires_at).strftime("%H:%M:%S")
    return Conflict(
        f"{held.agent} is working on ticket #{ticket.number} (locked until {until}).",
        code="ticket_locked",
    )


def ticket_lock_acquire(
    *, actor: Actor, ticket: Ticket, break_lock: bool = False
) -> TicketLock | None:
    """Take or renew the lock for `actor`; None when locks are turned off."""
    minutes = HelpdeskSettings.load().lock_minutes
    if not is_agent(actor):
        raise PermissionRefused("Only agents lock tickets.", code="permission_denied")
    check_visible(actor, ticket)
    if not minutes:
        return None
    with transaction.atomic():
        t = lock(ticket)  # the ticket row is the mutex for its lock
        now = timezone.now()
        held = TicketLock.objects.select_related("agent").filter(ticket=t).first()
        if held is not None and held.agent_id != actor.pk and held.expires_at > now:
            if not break_lock:
                raise lock_conflict(t, held)
            if not may_break_lock(actor, t):
                who = f"the manager of {t.department.name} or an admin"
                raise PermissionRefused(
                    f"Only {who} may break {held.agent}'s lock.", code="permission_denied"
                )
        expires = now + dt.timedelta(minutes=minutes)
        lk, _ = TicketLock.objects.update_or_create(
            ticket=t, defaults={"agent": actor, "expires_at": expires}
        )
    return lk


def ticket_lock_release(*, actor: Actor, ticket: Ticket) -> bool:
    """Drop the actor's own lock (done after a reply, or when they leave the ticket)."""
    return release_own_lock(ticket, actor)


def release_own_lock(ticket: Ticket, actor: Actor) -> bool:
    mine = TicketLock.objects.filter(ticket_id=ticket.pk, agent_id=getattr(actor, "pk", None))
    return mine.delete()[0] > 0


def require_unlocked(ticket: Ticket, actor: Actor) -> None:
    """Refuse when another agent's lock is active (the reply path calls this)."""
    held = active_lock(ticket)
    if held is not None and held.agent_id != getattr(actor, "pk", None):
        raise lock_conflict(ticket, held)


def active_lock(ticket: Ticket) -> TicketLock | None:
    return (
        TicketLock.objects.select_related("agent")
        .filter(ticket_id=ticket.pk, expires_at__gt=timezone.now())
        .first()
    )


def locks_purge() -> int:
    return TicketLock.objects.filter(expires_at__lte=timezone.now()).delete()[0]
