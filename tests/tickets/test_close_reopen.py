"""Closing and reopening move the assignment as osTicket does (tickets.services.status):
the closing agent takes a ticket nobody holds, the assignee is referred on close
(auto_refer_closed), and a reopened ticket stays with or goes back to its last
assignee or respondent while they are available (reopen_assign_last)."""

import pytest

from accounts.errors import NotVisible, PermissionRefused
from threads.models import Referral
from tickets import services, signals
from tickets.models import HelpdeskSettings, State, Ticket
from tickets.selectors import ticket_get_for, ticket_is_visible

from ..factories import AgentFactory, TeamFactory, open_ticket, role, status


@pytest.fixture
def ticket(cast):
    return open_ticket(cast.alice, department=cast.dept_a)


def _settings(**values):
    config = HelpdeskSettings.load()
    for name, value in values.items():
        setattr(config, name, value)
    config.save()


def _close(actor, ticket, name="Resolved"):
    return services.ticket_set_status(actor=actor, ticket=ticket, status=status(name))


def _reopen(actor, ticket):
    return services.ticket_set_status(actor=actor, ticket=ticket, status=status("Open"))


def _events(ticket, after=0):
    return list(
        ticket.thread.events.filter(pk__gt=after).order_by("id").values_list("kind", "data")
    )


def _referred(ticket):
    return {
        (r.agent_id, r.team_id, r.department_id)
        for r in Referral.objects.filter(thread_id=ticket.thread_id)
    }


def _last_event_id(ticket):
    return ticket.thread.events.latest("id").pk


# --- closing ---------------------------------------------------------------------------------


def test_an_agent_closing_a_ticket_nobody_holds_becomes_its_assignee_and_is_referred(
    cast, ticket, django_capture_on_commit_callbacks
):
    received = []
    signals.ticket_assigned.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-close"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            closed = _close(cast.agent_a, ticket)
    finally:
        signals.ticket_assigned.disconnect(dispatch_uid="t-close")

    assert (closed.state, closed.assignee) == (State.CLOSED, cast.agent_a)
    kinds = [(kind, data.get("reason")) for kind, data in _events(closed)[1:]]
    assert kinds == [("status_changed", None), ("assigned", "closed"), ("referred", "closed")]
    assert _referred(closed) == {(cast.agent_a.pk, None, None)}
    assert [(kw["agent"], kw["previous_agent"]) for kw in received] == [(cast.agent_a, None)]
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == cast.agent_a.pk  # saved


def test_closing_keeps_the_assignee_and_refers_its_agent_and_team(cast, ticket):
    team = TeamFactory(members=[cast.manager_a])
    services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_a, team=team)
    before = _last_event_id(ticket)

    closed = _close(cast.admin, ticket)

    assert (closed.assignee, closed.team) == (cast.agent_a, team)
    assert [kind for kind, _ in _events(closed, before)] == [
        "status_changed",
        "referred",
        "referred",
    ]
    assert _referred(closed) == {(cast.agent_a.pk, None, None), (None, team.pk, None)}


def test_a_ticket_held_by_a_team_only_is_not_taken_by_the_closing_agent(cast, ticket):
    team = TeamFactory(members=[cast.manager_a])
    services.ticket_assign(actor=cast.admin, ticket=ticket, team=team)

    closed = _close(cast.agent_a, ticket)

    assert (closed.assignee, closed.team) == (None, team)
    assert _referred(closed) == {(None, team.pk, None)}


def test_without_auto_refer_closed_nothing_is_referred_but_the_closer_still_takes_it(cast, ticket):
    _settings(auto_refer_closed=False)

    closed = _close(cast.agent_a, ticket)

    assert closed.assignee == cast.agent_a
    assert _referred(closed) == set()
    assert "referred" not in [kind for kind, _ in _events(closed)]


def test_a_client_closing_their_ticket_takes_nothing_and_refers_the_assignee(cast, ticket):
    services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_a)
    unassigned = open_ticket(cast.alice, department=cast.dept_a, subject="Another")

    closed = _close(cast.alice, ticket)
    other = _close(cast.alice, unassigned)

    assert closed.assignee == cast.agent_a and _referred(closed) == {(cast.agent_a.pk, None, None)}
    assert other.assignee is None and _referred(other) == set()


def test_a_closing_agent_outside_a_members_only_department_is_not_made_assignee(cast, ticket):
    cast.dept_a.assign_members_only = True
    cast.dept_a.save()
    outsider = AgentFactory(department=cast.dept_b, is_helpdesk_admin=True)

    closed = _close(outsider, ticket)

    assert closed.assignee is None
    assert _referred(closed) == {(outsider.pk, None, None)}  # osTicket refers the closer


def test_the_referral_keeps_a_former_assignee_seeing_the_ticket(cast, ticket):
    """agent_b (Billing) worked a Support ticket by assignment; after it closes and is
    reopened (agent_b has no access to Support: the assignment is dropped) the
    referral made on closing still shows it to them."""
    services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_b)
    _close(cast.admin, ticket)
    reopened = _reopen(cast.admin, ticket)

    assert reopened.assignee is None
    assert ticket_is_visible(user=cast.agent_b, ticket=reopened)


def test_without_the_referral_a_former_assignee_loses_the_ticket(cast, ticket, nothing_written):
    _settings(auto_refer_closed=False)
    services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_b)
    _close(cast.admin, ticket)
    _reopen(cast.admin, ticket)

    with nothing_written(), pytest.raises(NotVisible) as refusal:
        ticket_get_for(user=cast.agent_b, number=ticket.number)
    assert refusal.value.code == "ticket_not_found"


def test_a_refused_close_assigns_and_refers_nobody(cast, ticket, nothing_written):
    clerk = AgentFactory(department=cast.dept_a, role=role("Limited Access"))  # no ticket.close
    before = _last_event_id(ticket)

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        _close(clerk, ticket)
    assert refusal.value.code == "permission_denied"

    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.state, fresh.assignee_id, fresh.version) == (State.OPEN, None, ticket.version)
    assert _events(fresh, before) == [] and _referred(fresh) == set()


# --- reopening -------------------------------------------------------------------------------


def test_reopening_keeps_an_available_assignee(cast, ticket):
    services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_a)
    closed = _close(cast.admin, ticket)
    before = _last_event_id(closed)

    reopened = _reopen(cast.admin, closed)

    assert (reopened.state, reopened.assignee) == (State.OPEN, cast.agent_a)
    assert [kind for kind, _ in _events(reopened, before)] == ["status_changed"]


def test_a_client_message_reopens_to_the_last_respondent_when_nobody_holds_it(cast, ticket):
    cast.dept_a.claim_on_reply = False
    cast.dept_a.save()
    services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Try again.")
    closed = _close(cast.alice, ticket)  # a client closes: nobody takes it
    assert closed.assignee is None
    before = _last_event_id(closed)

    posted = services.ticket_post_message(actor=cast.alice, ticket=closed, body="Still broken.")

    assert (posted.ticket.state, posted.ticket.assignee) == (State.OPEN, cast.agent_a)
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == cast.agent_a.pk
    assigned = [data for kind, data in _events(posted.ticket, before) if kind == "assigned"]
    assert assigned == [
        {
            "agent": {"id": cast.agent_a.pk, "name": cast.agent_a.display_name},
            "team": None,
            "previous_agent": None,
            "auto": True,
            "reason": "reopened",
        }
    ]


@pytest.mark.parametrize(
    "unavailable",
    [
        pytest.param({"on_vacation": True}, id="on-vacation"),
        pytest.param({"is_active": False}, id="inactive"),
        pytest.param({"department": "dept_b"}, id="lost-the-department"),
    ],
)
def test_reopening_drops_an_assignee_who_is_no_longer_available(cast, ticket, unavailable):
    agent = AgentFactory(department=cast.dept_a)
    team = TeamFactory(members=[agent])
    services.ticket_assign(actor=cast.admin, ticket=ticket, agent=agent, team=team)
    closed = _close(cast.admin, ticket)
    for name, value in unavailable.items():
        setattr(agent, name, getattr(cast, value) if name == "department" else value)
    agent.save()
    before = _last_event_id(closed)

    reopened = _reopen(cast.admin, closed)

    assert (reopened.assignee, reopened.team) == (None, team)  # the team stays
    released = [data for kind, data in _events(reopened, before) if kind == "released"]
    assert [(d["previous_agent"]["id"], d["reason"]) for d in released] == [(agent.pk, "reopened")]


def test_with_reopen_assign_last_off_a_reopened_ticket_loses_its_agent(cast, ticket):
    _settings(reopen_assign_last=False)
    services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_a)
    closed = _close(cast.admin, ticket)

    reopened = _reopen(cast.admin, closed)

    assert reopened.assignee is None
    assert Ticket.objects.get(pk=ticket.pk).assignee_id is None


def test_a_reopen_with_nobody_to_assign_writes_no_assignment_event(cast, ticket):
    closed = _close(cast.alice, ticket)
    before = _last_event_id(closed)

    reopened = _reopen(cast.admin, closed)

    assert reopened.assignee is None
    assert [kind for kind, _ in _events(reopened, before)] == ["status_changed"]
