"""Automatic assignment: round-robin, least busy, vacations, members only, claim on reply."""

from collections import Counter

import pytest

from accounts.actors import SYSTEM
from routing.models import Department
from tickets import services

from ..factories import (
    AgentFactory,
    ClientFactory,
    DepartmentFactory,
    TeamFactory,
    TopicFactory,
    status,
)


def open_in(dept, requester=None, **kw):
    return services.ticket_open(
        actor=SYSTEM,
        new=services.NewTicket(
            requester=requester or ClientFactory(), subject="Help", body="x", department=dept, **kw
        ),
    )


@pytest.fixture
def rr_dept(db):
    dept = DepartmentFactory(assign_policy=Department.AssignPolicy.ROUND_ROBIN)
    agents = [AgentFactory(department=dept) for _ in range(3)]
    return dept, agents


def test_round_robin_takes_turns_fairly(rr_dept):
    dept, agents = rr_dept
    assignees = [open_in(dept).assignee for _ in range(9)]
    assert assignees == [agents[0], agents[1], agents[2]] * 3
    assert Counter(a.pk for a in assignees) == {a.pk: 3 for a in agents}


def test_agents_on_vacation_or_inactive_are_skipped(rr_dept):
    dept, agents = rr_dept
    agents[1].on_vacation = True
    agents[1].save()
    agents[2].is_active = False
    agents[2].save()
    assert {open_in(dept).assignee for _ in range(4)} == {agents[0]}


def test_extra_department_members_take_part(rr_dept):
    dept, _agents = rr_dept
    guest = AgentFactory(department=DepartmentFactory(), extra_departments={dept: "Limited Access"})
    assert guest in {open_in(dept).assignee for _ in range(4)}


def test_least_busy_picks_the_agent_with_fewest_open_tickets(db):
    dept = DepartmentFactory(assign_policy=Department.AssignPolicy.LEAST_BUSY)
    busy, idle = AgentFactory(department=dept), AgentFactory(department=dept)
    for _ in range(2):
        services.ticket_assign(actor=SYSTEM, ticket=open_in(DepartmentFactory()), agent=busy)
    assignees = [open_in(dept).assignee for _ in range(4)]
    assert assignees[:2] == [idle, idle]  # idle catches up to busy's 2 open tickets
    assert Counter(a.pk for a in assignees) == {idle.pk: 3, busy.pk: 1}


def test_closed_tickets_do_not_count_as_load(db):
    dept = DepartmentFactory(assign_policy=Department.AssignPolicy.LEAST_BUSY)
    first, _second = AgentFactory(department=dept), AgentFactory(department=dept)
    t = services.ticket_assign(actor=SYSTEM, ticket=open_in(DepartmentFactory()), agent=first)
    services.ticket_set_status(actor=SYSTEM, ticket=t, status=status("Closed"))
    assert open_in(dept).assignee == first  # tie on zero open tickets: lowest id


def test_a_team_policy_picks_within_the_team(db):
    dept = DepartmentFactory()
    team_members = [AgentFactory(department=dept) for _ in range(2)]
    AgentFactory(department=dept)  # not in the team
    team = TeamFactory(assign_policy=Department.AssignPolicy.ROUND_ROBIN, members=team_members)
    topic = TopicFactory(department=dept, assign_team=team)
    tickets = [open_in(None, topic=topic) for _ in range(4)]
    assert [t.assignee for t in tickets] == team_members * 2
    assert {t.team for t in tickets} == {team}


def test_a_team_policy_respects_assign_only_to_members(db):
    dept = DepartmentFactory(assign_members_only=True)
    outsider = AgentFactory(department=DepartmentFactory())
    member = AgentFactory(department=dept)
    team = TeamFactory(
        assign_policy=Department.AssignPolicy.ROUND_ROBIN, members=[outsider, member]
    )
    topic = TopicFactory(department=dept, assign_team=team)
    assert {open_in(None, topic=topic).assignee for _ in range(3)} == {member}


def test_no_policy_or_nobody_available_leaves_the_ticket_unassigned(db):
    assert open_in(DepartmentFactory()).assignee is None
    empty = DepartmentFactory(assign_policy=Department.AssignPolicy.ROUND_ROBIN)
    assert open_in(empty).assignee is None


def test_an_explicit_or_topic_assignee_wins_over_the_policy(rr_dept):
    dept, agents = rr_dept
    topic = TopicFactory(department=dept, assign_agent=agents[2])
    assert open_in(None, topic=topic).assignee == agents[2]


def test_auto_assignment_is_recorded(rr_dept):
    dept, agents = rr_dept
    ticket = open_in(dept)
    event = ticket.thread.events.get(kind="assigned")
    assert event.data["auto"] is True and event.data["agent"]["id"] == agents[0].pk


def test_claim_on_reply(cast):
    ticket = open_in(cast.dept_a)
    posted = services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Mine now.")
    assert posted.ticket.assignee == cast.agent_a
    assert posted.ticket.thread.events.filter(kind="assigned", data__claimed=True).count() == 1
    # a second agent's reply does not take it over
    again = services.ticket_post_reply(actor=cast.manager_a, ticket=posted.ticket, body="Me too.")
    assert again.ticket.assignee == cast.agent_a


def test_claim_on_reply_can_be_turned_off(cast):
    cast.dept_a.claim_on_reply = False
    cast.dept_a.save()
    posted = services.ticket_post_reply(
        actor=cast.agent_a, ticket=open_in(cast.dept_a), body="Answer."
    )
    assert posted.ticket.assignee is None


def test_claim_on_reply_respects_assign_only_to_members(cast):
    cast.dept_a.assign_members_only = True
    cast.dept_a.save()
    ticket = services.ticket_refer(
        actor=cast.admin, ticket=open_in(cast.dept_a), agent=cast.agent_b
    )
    ticket = services.ticket_assign(
        actor=cast.admin, ticket=ticket, team=TeamFactory(members=[cast.agent_b])
    )
    posted = services.ticket_post_reply(actor=cast.agent_b, ticket=ticket, body="From Billing.")
    assert posted.ticket.assignee is None
