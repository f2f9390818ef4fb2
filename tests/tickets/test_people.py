"""Deleting and merging clients (tickets.services.people), and what an organization
does to a member's new ticket: collaborators and auto-assignment to its account
manager."""

import pytest

from accounts.errors import Conflict, PermissionRefused
from accounts.models import Organization, User, UserEmail
from threads.models import Collaborator, Thread, ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import Ticket
from tickets.services.people import PLACEHOLDER_EMAIL, user_delete, user_merge

from ..factories import AgentFactory, ClientFactory, TeamFactory, open_ticket

pytestmark = pytest.mark.django_db


def _agent(cast, *keys, dept=None):
    return AgentFactory(department=dept or cast.dept_a, permissions=list(keys))


# --- delete -----------------------------------------------------------------------------


def test_delete_keeping_tickets_moves_them_to_the_placeholder(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    other = open_ticket(cast.bob, department=cast.dept_a)
    services.ticket_add_collaborator(actor=cast.admin, ticket=other, user=cast.alice)
    agent = _agent(cast, "user.delete")

    assert user_delete(actor=agent, user=cast.alice, tickets="keep") == 1

    assert not User.objects.filter(pk=cast.alice.pk).exists()
    ticket.refresh_from_db()
    assert ticket.requester.email == PLACEHOLDER_EMAIL
    assert ticket.requester.is_active is False
    assert ThreadEntry.objects.get(thread_id=ticket.thread_id).poster_id == ticket.requester_id
    # a collaboration of the deleted user ends with them
    assert not Collaborator.objects.filter(thread_id=other.thread_id).exists()
    event = ThreadEvent.objects.get(thread_id=ticket.thread_id, kind=ThreadEvent.Kind.EDITED)
    assert event.data["requester"][1]["name"] == "Deleted user"


def test_delete_with_tickets_erases_them(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    agent = _agent(cast, "user.delete")

    assert user_delete(actor=agent, user=cast.alice, tickets="delete") == 1

    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert not Thread.objects.filter(pk=ticket.thread_id).exists()
    assert not User.objects.filter(pk=cast.alice.pk).exists()


def test_deleting_tickets_outside_the_agents_departments_is_refused(cast):
    open_ticket(cast.alice, department=cast.dept_a)
    hidden = open_ticket(cast.alice, department=cast.dept_b)
    agent = _agent(cast, "user.delete")

    with pytest.raises(PermissionRefused):
        user_delete(actor=agent, user=cast.alice, tickets="delete")

    assert Ticket.objects.filter(requester=cast.alice).count() == 2
    assert Ticket.objects.filter(pk=hidden.pk).exists()


def test_delete_needs_user_delete(cast):
    open_ticket(cast.alice, department=cast.dept_a)
    agent = _agent(cast, "user.edit")

    with pytest.raises(PermissionRefused):
        user_delete(actor=agent, user=cast.alice, tickets="keep")

    assert User.objects.filter(pk=cast.alice.pk).exists()


def test_agents_and_the_placeholder_are_not_deleted_here(cast):
    agent = _agent(cast, "user.delete")
    with pytest.raises(PermissionRefused):
        user_delete(actor=agent, user=cast.agent_b, tickets="keep")
    open_ticket(cast.alice, department=cast.dept_a)
    user_delete(actor=agent, user=cast.alice, tickets="keep")
    with pytest.raises(Conflict):
        user_delete(actor=agent, user=User.objects.get(email=PLACEHOLDER_EMAIL), tickets="keep")


# --- merge ------------------------------------------------------------------------------


def test_merge_moves_tickets_emails_and_collaborations(cast):
    keep = cast.alice
    dup = ClientFactory(email="alice.home@example.org", organization=None)
    UserEmail.objects.create(user=dup, email="alice.old@example.org")
    own = open_ticket(dup, department=cast.dept_a)
    shared = open_ticket(cast.bob, department=cast.dept_a)
    both = open_ticket(cast.bob, department=cast.dept_b)
    services.ticket_add_collaborator(actor=cast.admin, ticket=shared, user=dup)
    services.ticket_add_collaborator(actor=cast.admin, ticket=both, user=dup)
    services.ticket_add_collaborator(actor=cast.admin, ticket=both, user=keep)
    agent = _agent(cast, "user.edit", "user.delete")

    user_merge(actor=agent, keep=keep, merge=dup)

    assert not User.objects.filter(pk=dup.pk).exists()
    own.refresh_from_db()
    assert own.requester_id == keep.pk
    assert set(keep.extra_emails.values_list("email", flat=True)) == {
        "alice.home@example.org",
        "alice.old@example.org",
    }
    assert set(Collaborator.objects.filter(user=keep).values_list("thread_id", flat=True)) == {
        shared.thread_id,
        both.thread_id,
    }
    assert ThreadEntry.objects.get(thread_id=own.thread_id).poster_id == keep.pk
    # mail from the merged address now finds the kept user
    from accounts.selectors import user_find_by_email

    assert user_find_by_email("alice.home@example.org") == keep


def test_merge_needs_user_edit_and_user_delete(cast):
    dup = ClientFactory()
    for keys in (["user.edit"], ["user.delete"]):
        with pytest.raises(PermissionRefused):
            user_merge(actor=_agent(cast, *keys), keep=cast.alice, merge=dup)
    assert User.objects.filter(pk=dup.pk).exists()


def test_merge_refuses_the_same_user(cast):
    from accounts.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        user_merge(
            actor=_agent(cast, "user.edit", "user.delete"), keep=cast.alice, merge=cast.alice
        )


# --- organizations at ticket open --------------------------------------------------------


def test_all_members_join_a_members_ticket_as_collaborators(cast):
    cast.acme.collab_all_members = True
    cast.acme.save()

    ticket = open_ticket(cast.alice, department=cast.dept_a)

    cc = set(
        Collaborator.objects.filter(thread_id=ticket.thread_id).values_list("user_id", flat=True)
    )
    assert cc == {cast.alice_colleague.pk}


def test_only_primary_contacts_join_when_so_chosen(cast):
    cast.acme.collab_primary_contacts = True
    cast.acme.save()
    boss = ClientFactory(email="boss@acme.test", organization=cast.acme, is_primary_contact=True)

    ticket = open_ticket(cast.alice, department=cast.dept_a)

    cc = set(
        Collaborator.objects.filter(thread_id=ticket.thread_id).values_list("user_id", flat=True)
    )
    assert cc == {boss.pk}


def test_without_the_switches_nobody_joins(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    assert not Collaborator.objects.filter(thread_id=ticket.thread_id).exists()


def test_a_members_ticket_is_auto_assigned_to_the_account_manager(cast):
    cast.acme.manager_agent = cast.agent_a
    cast.acme.auto_assign_manager = True
    cast.acme.save()

    ticket = open_ticket(cast.alice, department=cast.dept_a)

    assert ticket.assignee_id == cast.agent_a.pk
    assert open_ticket(cast.bob, department=cast.dept_a).assignee_id is None


def test_a_team_account_manager_gets_the_ticket(cast):
    team = TeamFactory(name="Key accounts", members=[cast.agent_a])
    cast.acme.manager_team = team
    cast.acme.auto_assign_manager = True
    cast.acme.save()

    assert open_ticket(cast.alice, department=cast.dept_a).team_id == team.pk


def test_without_auto_assign_the_manager_does_not_get_the_ticket(cast):
    cast.acme.manager_agent = cast.agent_a
    cast.acme.save()
    assert open_ticket(cast.alice, department=cast.dept_a).assignee_id is None


def test_an_explicit_assignment_wins_over_the_account_manager(cast):
    cast.acme.manager_agent = cast.agent_a
    cast.acme.auto_assign_manager = True
    cast.acme.save()
    ticket = open_ticket(
        cast.alice, actor=cast.admin, department=cast.dept_a, assignee=cast.manager_a
    )
    assert ticket.assignee_id == cast.manager_a.pk


def test_primary_contacts_see_the_organizations_tickets_when_shared_with_them(cast):
    from tickets.selectors import tickets_visible_to

    cast.acme.sharing = Organization.Sharing.PRIMARY
    cast.acme.save()
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    assert not tickets_visible_to(user=cast.alice_colleague).filter(pk=ticket.pk).exists()
    cast.alice_colleague.is_primary_contact = True
    cast.alice_colleague.save()
    assert tickets_visible_to(user=cast.alice_colleague).filter(pk=ticket.pk).exists()


def test_the_placeholder_is_not_edited_like_a_client(cast):
    from accounts.services import user_lock, user_set_emails, user_update

    agent = _agent(cast, "user.edit", "user.manage")
    open_ticket(cast.alice, department=cast.dept_a)
    user_delete(actor=_agent(cast, "user.delete"), user=cast.alice, tickets="keep")
    placeholder = User.objects.get(email=PLACEHOLDER_EMAIL)

    with pytest.raises(Conflict):
        user_update(actor=agent, user=placeholder, data={"name": "Renamed"})
    with pytest.raises(Conflict):
        user_set_emails(actor=agent, user=placeholder, emails=["x@example.org"])
    with pytest.raises(Conflict):
        user_lock(actor=agent, user=placeholder, locked=True)

    placeholder.refresh_from_db()
    assert (placeholder.name, placeholder.is_locked) == ("Deleted user", False)
    assert not placeholder.extra_emails.exists()
    # a real client still is
    user_update(actor=agent, user=cast.bob, data={"name": "Robert"})
    assert User.objects.get(pk=cast.bob.pk).name == "Robert"


def test_the_placeholder_address_is_nobodys_on_any_channel(cast):
    from accounts.errors import ValidationFailed
    from accounts.services import user_get_or_create_by_email
    from tickets.services.people import placeholder_user

    placeholder_user()
    with pytest.raises(ValidationFailed) as refused:
        user_get_or_create_by_email(actor=cast.admin, email="Deleted-User@placeholder.invalid")
    assert refused.value.code == "placeholder"
    assert User.objects.filter(email__iexact=PLACEHOLDER_EMAIL).count() == 1
