"""Collision avoidance: an agent composing on a ticket or a task holds it for a while.

The panel acquires the lock when an agent starts typing and renews it while they type;
posting refuses while another agent's lock is active. A department manager or a
helpdesk admin may break someone else's lock. `lock_minutes = 0` in the settings turns
locks off. The lock lives on the thread (threads.models.Lock), so tickets and tasks
share this code: the owner's row is the mutex for its lock.
"""

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, is_agent
from accounts.errors import Conflict, PermissionRefused
from accounts.models import User
from threads import services as threads
from threads.models import Lock

from ..models import HelpdeskSettings, Task, Ticket
from ..permissions import check_visible
from ._common import lock

Owner = TypeVar("Owner", Ticket, Task)


def label(owner: Ticket | Task) -> str:
    return f"{'task' if isinstance(owner, Task) else 'ticket'} #{owner.number}"


def may_break_lock(agent: User, owner: Ticket | Task) -> bool:
    return agent.is_helpdesk_admin or owner.department.manager_id == agent.pk


def lock_conflict(owner: Ticket | Task, held: Lock) -> Conflict:
    until = timezone.localtime(held.expires_at).strftime("%H:%M:%S")
    kind = "task" if isinstance(owner, Task) else "ticket"
    return Conflict(
        f"{held.agent} is working on {label(owner)} (locked until {until}).",
        code=f"{kind}_locked",
    )


def acquire(
    actor: Actor,
    owner: Owner,
    *,
    break_lock: bool,
    visible: Callable[[Actor, Owner], None],
    relock: Callable[[Owner], Owner],
) -> Lock | None:
    """Take or renew the lock on `owner` for `actor`: `visible` refuses an actor who may
    not see it, `relock` re-reads it with its row locked."""
    minutes = HelpdeskSettings.load().lock_minutes
    if not is_agent(actor):
        raise PermissionRefused("Only agents lock tickets and tasks.", code="permission_denied")
    visible(actor, owner)
    if not minutes:
        return None
    with transaction.atomic():
        o = relock(owner)
        now = timezone.now()
        held = threads.lock_get(thread_id=o.thread_id, active=False)
        if held is not None and held.agent_id != actor.pk and held.expires_at > now:
            if not break_lock:
                raise lock_conflict(o, held)
            if not may_break_lock(actor, o):
                who = f"the manager of {o.department.name} or an admin"
                raise PermissionRefused(
                    f"Only {who} may break {held.agent}'s lock.", code="permission_denied"
                )
        return threads.lock_put(
            thread_id=o.thread_id, agent=actor, expires_at=now + dt.timedelta(minutes=minutes)
        )


def ticket_lock_acquire(*, actor: Actor, ticket: Ticket, break_lock: bool = False) -> Lock | None:
    """Take or renew the lock for `actor`; None when locks are turned off."""
    return acquire(actor, ticket, break_lock=break_lock, visible=check_visible, relock=lock)


def ticket_lock_release(*, actor: Actor, ticket: Ticket) -> bool:
    """Drop the actor's own lock (done after a reply, or when they leave the ticket)."""
    return release_own_lock(ticket, actor)


def release_own_lock(owner: Ticket | Task, actor: Actor) -> bool:
    return threads.lock_drop(thread_id=owner.thread_id, agent_id=getattr(actor, "pk", None))


def require_unlocked(owner: Ticket | Task, actor: Actor) -> None:
    """Refuse when another agent's lock is active (the posting paths call this)."""
    held = active_lock(owner)
    if held is not None and held.agent_id != getattr(actor, "pk", None):
        raise lock_conflict(owner, held)


def active_lock(owner: Ticket | Task) -> Lock | None:
    return threads.lock_get(thread_id=owner.thread_id)


def locks_purge() -> int:
    return threads.locks_purge()
