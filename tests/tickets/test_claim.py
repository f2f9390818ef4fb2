"""A claim is announced from one place (tickets.services.assignment.announce_claim),
whether the agent claims or a reply claims for them."""

import pytest

from accounts.errors import Conflict
from threads.models import ThreadEvent
from tickets import services, signals
from tickets.models import Ticket

from ..factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned_signals():
    received = []
    signals.ticket_assigned.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="test-claim"
    )
    yield received
    signals.ticket_assigned.disconnect(dispatch_uid="test-claim")


def _summary(kw):
    return (
        kw["ticket"].pk,
        kw["agent"],
        kw["claimed"],
        kw["previous_agent"],
        kw["team"],
        kw["channel"],
    )


def test_a_reply_that_claims_announces_the_claim_exactly_once(
    cast, assigned_signals, django_capture_on_commit_callbacks
):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    with django_capture_on_commit_callbacks(execute=True):
        posted = services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Mine now.")

    assert [_summary(kw) for kw in assigned_signals] == [
        (ticket.pk, cast.agent_a, True, None, None, "panel")
    ]
    event = posted.ticket.thread.events.get(kind=ThreadEvent.Kind.ASSIGNED)
    assert event.data["claimed"] is True and event.data["auto"] is True
    assert Ticket.objects.get(pk=ticket.pk).assignee == cast.agent_a


def test_a_reply_to_a_held_ticket_announces_no_claim(
    cast, assigned_signals, django_capture_on_commit_callbacks
):
    ticket = services.ticket_claim(
        actor=cast.manager_a, ticket=open_ticket(cast.alice, department=cast.dept_a)
    )
    assigned_signals.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Helping out.")

    assert assigned_signals == []
    assert Ticket.objects.get(pk=ticket.pk).assignee == cast.manager_a


def test_claiming_announces_the_same_signal_as_a_reply_that_claims(
    cast, assigned_signals, django_capture_on_commit_callbacks
):
    by_reply = open_ticket(cast.alice, department=cast.dept_a)
    by_claim = open_ticket(cast.alice, department=cast.dept_a)

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_post_reply(actor=cast.agent_a, ticket=by_reply, body="Mine.")
        services.ticket_claim(actor=cast.agent_a, ticket=by_claim)

    first, second = assigned_signals
    assert set(first) == set(second)
    assert _summary(first)[1:] == _summary(second)[1:]
    claimed = by_claim.thread.events.get(kind=ThreadEvent.Kind.ASSIGNED)
    assert claimed.data["claimed"] is True and "auto" not in claimed.data


def test_a_refused_claim_announces_nothing(
    cast, assigned_signals, django_capture_on_commit_callbacks, nothing_written
):
    ticket = services.ticket_claim(
        actor=cast.manager_a, ticket=open_ticket(cast.alice, department=cast.dept_a)
    )
    assigned_signals.clear()
    events = ticket.thread.events.count()

    with (
        nothing_written(),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Conflict) as refusal,
    ):
        services.ticket_claim(actor=cast.agent_a, ticket=ticket)
    assert refusal.value.code == "already_assigned"

    assert assigned_signals == []
    assert ticket.thread.events.count() == events
