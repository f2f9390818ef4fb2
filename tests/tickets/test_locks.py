import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.errors import Conflict, NotVisible, PermissionRefused
from threads.models import Lock
from tickets import services
from tickets.models import HelpdeskSettings

from ..factories import AgentFactory, open_ticket

T0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def ticket(cast):
    return open_ticket(cast.alice, department=cast.dept_a)


def test_the_composer_holds_the_ticket_and_others_cannot_reply(cast, ticket, nothing_written):
    with time_machine.travel(T0, tick=False):
        held = services.ticket_lock_acquire(actor=cast.agent_a, ticket=ticket)
        assert held.expires_at == T0 + dt.timedelta(minutes=3)
        with nothing_written(), pytest.raises(Conflict) as exc:
            services.ticket_post_reply(actor=cast.admin, ticket=ticket, body="Me first")
        assert exc.value.code == "ticket_locked"
        assert str(exc.value) == (
            f"{cast.agent_a} is working on ticket #{ticket.number} (locked until 10:03:00)."
        )
        with nothing_written(), pytest.raises(Conflict) as refusal:
            services.ticket_lock_acquire(actor=cast.manager_a, ticket=ticket)
        assert refusal.value.code == "ticket_locked"
        assert ticket.thread.entries.count() == 1
        # the holder replies; the lock is released with it
        services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Done")
    assert not Lock.objects.exists()


def test_renewing_extends_the_lock_and_expiry_frees_it(cast, ticket):
    with time_machine.travel(T0, tick=False):
        services.ticket_lock_acquire(actor=cast.agent_a, ticket=ticket)
    with time_machine.travel(T0 + dt.timedelta(minutes=2), tick=False):
        renewed = services.ticket_lock_acquire(actor=cast.agent_a, ticket=ticket)
        assert renewed.expires_at == T0 + dt.timedelta(minutes=5)
    with time_machine.travel(T0 + dt.timedelta(minutes=5, seconds=1), tick=False):
        assert services.active_lock(ticket) is None
        taken = services.ticket_lock_acquire(actor=cast.manager_a, ticket=ticket)
        assert taken.agent == cast.manager_a
    assert Lock.objects.count() == 1


def test_only_the_manager_or_an_admin_breaks_a_lock(cast, ticket, nothing_written):
    services.ticket_lock_acquire(actor=cast.agent_a, ticket=ticket)
    other = AgentFactory(department=cast.dept_a)
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_lock_acquire(actor=other, ticket=ticket, break_lock=True)
    assert refusal.value.code == "permission_denied"
    assert (
        services.ticket_lock_acquire(actor=cast.manager_a, ticket=ticket, break_lock=True).agent
        == cast.manager_a
    )
    assert (
        services.ticket_lock_acquire(actor=cast.admin, ticket=ticket, break_lock=True).agent
        == cast.admin
    )


def test_locks_can_be_turned_off(cast, ticket):
    HelpdeskSettings.objects.filter(pk=1).update(lock_minutes=0)
    assert services.ticket_lock_acquire(actor=cast.agent_a, ticket=ticket) is None
    assert not Lock.objects.exists()


def test_only_agents_who_see_the_ticket_lock_it(cast, ticket, nothing_written):
    with nothing_written(), pytest.raises(NotVisible) as refusal:
        services.ticket_lock_acquire(actor=cast.agent_b, ticket=ticket)
    assert refusal.value.code == "ticket_not_found"
    with nothing_written(), pytest.raises(PermissionRefused) as refusal2:
        services.ticket_lock_acquire(actor=cast.alice, ticket=ticket)
    assert refusal2.value.code == "permission_denied"


def test_releasing_and_purging(cast, ticket):
    services.ticket_lock_acquire(actor=cast.agent_a, ticket=ticket)
    assert services.ticket_lock_release(actor=cast.manager_a, ticket=ticket) is False
    assert services.ticket_lock_release(actor=cast.agent_a, ticket=ticket) is True
    services.ticket_lock_acquire(actor=cast.agent_a, ticket=ticket)
    Lock.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert services.locks_purge() == 1
    assert services.locks_purge() == 0
