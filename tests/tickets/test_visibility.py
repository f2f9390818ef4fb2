"""Who sees which ticket: the selector, and the same answer from the permission check."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from accounts.compiled import compiled_once
from accounts.errors import NotVisible
from tickets import services
from tickets.models import Ticket
from tickets.permissions import check_visible
from tickets.selectors import (
    TICKET_PEOPLE,
    ticket_get_for,
    tickets_linked_to,
    tickets_readable_by,
    tickets_visible_to,
)

from ..factories import AgentFactory, TeamFactory, open_ticket, role, status


def columns(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def numbers(user):
    found = set(tickets_visible_to(user=user).values_list("number", flat=True))
    # the sidebar counts over the same rows with the condition compiled once
    once = compiled_once(tickets_visible_to(user=user))
    assert set(once.values_list("number", flat=True)) == found
    # and one ticket at a time, as every page and action reads it (an agent's read is
    # written once per scope): the same tickets, with the same people joined
    readable = set(tickets_readable_by(user=user).values_list("number", flat=True))
    for ticket in Ticket.objects.select_related(*TICKET_PEOPLE):
        for lookup in ({"number": ticket.number}, {"pk": ticket.pk}):
            if ticket.number not in readable:
                with pytest.raises(NotVisible):
                    ticket_get_for(user=user, **lookup)
                continue
            got = ticket_get_for(user=user, **lookup)
            assert (got.pk, got.number, got.subject, got.updated_at) == (
                ticket.pk,
                ticket.number,
                ticket.subject,
                ticket.updated_at,
            )
            with CaptureQueriesContext(connection) as reads:
                people = [getattr(got, name) for name in TICKET_PEOPLE]
            assert len(reads) == 0  # joined, not read on access
            for name, mine in zip(TICKET_PEOPLE, people, strict=True):
                theirs = getattr(ticket, name)
                assert mine == theirs, name
                if mine is not None:
                    assert columns(mine) == columns(theirs), name
    return found


@pytest.fixture
def tickets(cast):
    return {
        "alice_a": open_ticket(cast.alice, department=cast.dept_a, subject="alice in A"),
        "alice_b": open_ticket(cast.alice, department=cast.dept_b, subject="alice in B"),
        "bob_a": open_ticket(cast.bob, department=cast.dept_a, subject="bob in A"),
        "bob_b": open_ticket(cast.bob, department=cast.dept_b, subject="bob in B"),
    }


def _n(tickets, *names):
    return {tickets[n].number for n in names}


def test_agents_see_their_departments(cast, tickets):
    assert numbers(cast.agent_a) == _n(tickets, "alice_a", "bob_a")
    assert numbers(cast.agent_b) == _n(tickets, "alice_b", "bob_b")


def test_extra_department_access_widens_the_view(cast, tickets):
    agent = AgentFactory(department=cast.dept_a, extra_departments={cast.dept_b: "View only"})
    assert numbers(agent) == _n(tickets, "alice_a", "bob_a", "alice_b", "bob_b")


def test_assignment_to_me_or_my_team_and_referrals_add_tickets(cast, tickets):
    team = TeamFactory(members=[cast.agent_b])
    services.ticket_assign(actor=cast.admin, ticket=tickets["alice_a"], team=team)
    services.ticket_refer(actor=cast.admin, ticket=tickets["bob_a"], agent=cast.agent_b)
    assert numbers(cast.agent_b) == _n(tickets, "alice_b", "bob_b", "alice_a", "bob_a")
    other = AgentFactory(department=cast.dept_b)
    assert numbers(other) == _n(tickets, "alice_b", "bob_b")


def test_a_referral_to_a_department_shows_the_ticket_to_its_agents(cast, tickets):
    services.ticket_refer(actor=cast.admin, ticket=tickets["alice_a"], department=cast.dept_b)
    assert tickets["alice_a"].number in numbers(AgentFactory(department=cast.dept_b))


def test_agents_limited_to_assigned_tickets_see_only_those(cast, tickets):
    limited = AgentFactory(department=cast.dept_a, assigned_only=True)
    assert numbers(limited) == set()
    services.ticket_assign(actor=cast.admin, ticket=tickets["bob_a"], agent=limited)
    assert numbers(limited) == _n(tickets, "bob_a")


def test_admins_and_the_system_see_everything_including_the_trash(cast, tickets):
    services.ticket_set_status(actor=cast.admin, ticket=tickets["bob_b"], status=status("Deleted"))
    everything = _n(tickets, "alice_a", "alice_b", "bob_a", "bob_b")
    assert numbers(cast.admin) == everything
    assert numbers(SYSTEM) == everything
    assert numbers(cast.agent_b) == _n(tickets, "alice_b")


def test_clients_see_their_own_and_their_sharing_organizations(cast, tickets):
    assert numbers(cast.alice) == _n(tickets, "alice_a", "alice_b")
    assert numbers(cast.alice_colleague) == _n(tickets, "alice_a", "alice_b")  # Acme shares
    assert numbers(cast.bob) == _n(tickets, "bob_a", "bob_b")
    globex_colleague = type(cast.bob).objects.create(
        email="gina@globex.test", organization=cast.globex
    )
    assert numbers(globex_colleague) == set()  # Globex does not share
    assert numbers(cast.stranger) == set()


def test_collaborators_see_the_ticket_until_removed(cast, tickets):
    services.ticket_add_collaborator(
        actor=cast.admin, ticket=tickets["alice_a"], user=cast.stranger
    )
    assert numbers(cast.stranger) == _n(tickets, "alice_a")
    services.ticket_remove_collaborator(
        actor=cast.admin, ticket=tickets["alice_a"], user=cast.stranger
    )
    assert numbers(cast.stranger) == set()


def test_deleted_tickets_vanish_for_clients_and_agents(cast, tickets):
    services.ticket_set_status(
        actor=cast.admin, ticket=tickets["alice_a"], status=status("Deleted")
    )
    assert tickets["alice_a"].number not in numbers(cast.alice)
    assert tickets["alice_a"].number not in numbers(cast.agent_a)


def test_anonymous_and_inactive_users_see_nothing(cast, tickets):
    from django.contrib.auth.models import AnonymousUser

    assert numbers(AnonymousUser()) == set()
    cast.agent_a.is_active = False
    cast.agent_a.save()
    assert numbers(cast.agent_a) == set()


def test_ticket_get_for_answers_not_visible_for_what_one_may_not_see(cast, tickets):
    assert (
        ticket_get_for(user=cast.alice, number=tickets["alice_a"].number).pk
        == tickets["alice_a"].pk
    )
    for user in (cast.bob, cast.agent_b, cast.stranger):
        with pytest.raises(NotVisible) as refusal2:
            ticket_get_for(user=user, number=tickets["alice_a"].number)
        assert refusal2.value.code == "ticket_not_found"
    with pytest.raises(NotVisible) as refusal:
        ticket_get_for(user=cast.alice, number="does-not-exist")
    assert refusal.value.code == "ticket_not_found"


def test_the_permission_check_agrees_with_the_selector(cast, tickets):
    users = [
        cast.agent_a,
        cast.agent_b,
        cast.manager_a,
        cast.alice,
        cast.alice_colleague,
        cast.bob,
        cast.stranger,
    ]
    for user in users:
        visible = numbers(user)
        for t in tickets.values():
            if t.number in visible:
                check_visible(user, t)
            else:
                with pytest.raises(NotVisible) as refusal:
                    check_visible(user, t)
                assert refusal.value.code == "ticket_not_found"


def test_linked_tickets_are_filtered_by_visibility(cast, tickets):
    services.ticket_link(actor=cast.admin, ticket=tickets["alice_a"], other=tickets["alice_b"])
    services.ticket_link(actor=cast.admin, ticket=tickets["alice_a"], other=tickets["bob_a"])
    linked = set(
        tickets_linked_to(user=cast.agent_a, ticket=tickets["alice_a"]).values_list(
            "number", flat=True
        )
    )
    assert linked == _n(tickets, "bob_a")


def test_a_view_only_agent_still_sees_the_department(cast, tickets):
    viewer = AgentFactory(department=cast.dept_a, role=role("View only"))
    assert numbers(viewer) == _n(tickets, "alice_a", "bob_a")


def test_the_visibility_query_count_does_not_grow_with_tickets(
    cast, tickets, django_assert_max_num_queries
):
    agent = AgentFactory(department=cast.dept_a, extra_departments={cast.dept_b: "View only"})
    with django_assert_max_num_queries(2):  # department accesses, then one query for the list
        list(tickets_visible_to(user=agent))
    for i in range(20):
        open_ticket(cast.alice, department=cast.dept_a, subject=f"more {i}")
    agent = type(agent).objects.get(pk=agent.pk)
    with django_assert_max_num_queries(2):
        assert len(list(tickets_visible_to(user=agent))) == 24


def test_an_api_key_sees_its_read_scope_and_changes_only_its_write_scope(
    cast, tickets, nothing_written
):
    from accounts.actors import ApiKeyActor
    from accounts.errors import PermissionRefused

    reader = ApiKeyActor(
        key_id=1, label="API key reader", read_departments=frozenset({cast.dept_a.pk})
    )
    assert numbers(reader) == _n(tickets, "alice_a", "bob_a")
    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        services.ticket_post_reply(actor=reader, ticket=tickets["alice_a"], body="x")
    assert str(exc.value) == "This API key's scope in Support does not allow ticket.reply."
    with nothing_written(), pytest.raises(NotVisible) as refusal:
        services.ticket_post_note(actor=reader, ticket=tickets["alice_b"], body="x")
    assert refusal.value.code == "ticket_not_found"
    writer = ApiKeyActor(
        key_id=2,
        label="API key writer",
        read_departments=frozenset({cast.dept_a.pk}),
        write_departments=frozenset({cast.dept_a.pk}),
    )
    posted = services.ticket_post_reply(
        actor=writer, ticket=tickets["alice_a"], body="From the integration."
    )
    assert posted.entry.poster_name == "API key writer"


def test_the_agents_tickets_built_once_per_process_stay_current(cast, tickets):
    """tickets_visible_to builds an agent's queryset once per process for the same
    agent, "assigned only" and departments: each call hands out a fresh copy (a ticket
    opened after one was read shows in the next), another instance of the same agent
    (the next request) reuses it, and a changed primary department, extra department
    or "assigned only" builds another; a team joined shows at once (a subquery)."""
    from tickets.selectors import _agent_tickets_of

    agent = AgentFactory(department=cast.dept_a)
    first = tickets_visible_to(user=agent)
    assert {t.number for t in first} == _n(tickets, "alice_a", "bob_a")
    later = open_ticket(cast.alice, department=cast.dept_a, subject="later in A")
    assert numbers(agent) == _n(tickets, "alice_a", "bob_a") | {later.number}
    assert tickets_visible_to(user=agent) is not tickets_visible_to(user=agent)
    built = _agent_tickets_of.cache_info().misses
    again = type(agent).objects.get(pk=agent.pk)  # the next request's instance
    assert numbers(again) == _n(tickets, "alice_a", "bob_a") | {later.number}
    assert _agent_tickets_of.cache_info().misses == built

    team = TeamFactory(members=[again])
    services.ticket_assign(actor=cast.admin, ticket=tickets["bob_b"], team=team)
    assert tickets["bob_b"].number in numbers(again)
    again.department_accesses.create(department=cast.dept_b, role=role("View only"))
    assert numbers(type(agent).objects.get(pk=agent.pk)) == numbers(again) | _n(tickets, "alice_b")

    agent.department = cast.dept_b
    assert numbers(agent) == _n(tickets, "alice_b", "bob_b")
    agent.assigned_only = True
    assert numbers(agent) == _n(tickets, "bob_b")  # their team's


def test_the_agents_tasks_built_once_per_process_stay_current(cast):
    from tickets.selectors import tasks_visible_to

    def new_task(actor, **kw):
        return services.task_create(actor=actor, new=services.NewTask(**kw))

    agent = AgentFactory(department=cast.dept_a)
    in_a = new_task(cast.admin, department=cast.dept_a, title="in A")
    in_b = new_task(cast.admin, department=cast.dept_b, title="in B")
    assert set(tasks_visible_to(user=agent)) == {in_a}
    later = new_task(cast.admin, department=cast.dept_a, title="later in A")
    assert set(tasks_visible_to(user=agent)) == {in_a, later}
    agent.department = cast.dept_b
    assert set(tasks_visible_to(user=agent)) == {in_b}
