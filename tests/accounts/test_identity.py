import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from accounts import permissions as perms
from accounts.actors import SYSTEM
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import Role, User, UserEmail
from accounts.selectors import user_find_by_email
from accounts.services import organization_create, user_create, user_get_or_create_by_email

from ..factories import AgentFactory, ClientFactory, DepartmentFactory, OrganizationFactory, role


def test_the_four_osticket_roles_are_seeded(db):
    assert set(Role.objects.values_list("name", flat=True)) == {
        "All Access",
        "Expanded Access",
        "Limited Access",
        "View only",
    }
    assert set(role("All Access").permissions) == perms.ROLE_PERMISSIONS
    assert set(perms.ROLE_PERMISSIONS) - set(role("Expanded Access").permissions) == {
        "ticket.markanswered",
        "ticket.delete",
        "task.delete",
        "thread.edit",
    }
    assert role("View only").permissions == []


def test_agents_sign_in_with_username_or_email_and_clients_with_email(db):
    agent = AgentFactory(username="morgan", email="morgan@helpdesk.test")
    client = ClientFactory(email="carla@example.org")
    UserEmail.objects.create(user=client, email="carla.alt@example.org")
    assert authenticate(username="morgan", password="secret") == agent
    assert authenticate(username="MORGAN@helpdesk.test", password="secret") == agent
    assert authenticate(username="carla@example.org", password="secret") == client
    assert authenticate(username="carla.alt@example.org", password="secret") == client
    assert authenticate(username="carla@example.org", password="wrong") is None
    assert authenticate(username="nobody@example.org", password="secret") is None


def test_clients_have_no_username_login_and_inactive_users_none_at_all(db):
    client = ClientFactory(email="u@example.org", username="clientname")
    assert authenticate(username="clientname", password="secret") is None
    client.is_active = False
    client.save()
    assert authenticate(username="u@example.org", password="secret") is None


def test_emails_are_unique_whatever_the_case(db):
    ClientFactory(email="dup@example.org")
    with pytest.raises(IntegrityError):
        ClientFactory(email="DUP@example.org")


def test_only_agents_have_departments(db):
    with pytest.raises(IntegrityError):
        User.objects.create(email="x@example.org", department=DepartmentFactory())


def test_role_permissions_are_validated(db):
    bad = Role(name="Odd", permissions=["ticket.reply", "ticket.fly"])
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert exc.value.message_dict == {"permissions": ["Unknown permissions: ticket.fly"]}
    agent = AgentFactory()
    agent.permissions = ["ticket.reply"]  # a role permission, not an agent-wide one
    with pytest.raises(ValidationError) as not_agent_wide:
        agent.full_clean()
    assert not_agent_wide.value.message_dict == {
        "permissions": ["Unknown permissions: ticket.reply"]
    }


def test_an_agent_needs_a_department_and_a_role(db):
    user = User(email="half@helpdesk.test", is_agent=True)
    with pytest.raises(ValidationError) as half:
        user.clean()
    assert half.value.messages == ["An agent needs a primary department and a role."]


def test_new_clients_join_the_organization_of_their_domain(db):
    org = OrganizationFactory(domain="acme.test")
    alice = user_create(actor=SYSTEM, email="Alice@ACME.test", name="Alice")
    assert (alice.email, alice.organization) == ("alice@acme.test", org)
    assert not alice.has_usable_password()
    other = user_create(actor=SYSTEM, email="zed@else.test")
    assert other.organization is None


def test_user_create_refuses_duplicates_and_bad_addresses(db, nothing_written):
    ClientFactory(email="taken@example.org")
    with nothing_written(), pytest.raises(Conflict) as refusal:
        user_create(actor=SYSTEM, email="TAKEN@example.org")
    assert refusal.value.code == "user_exists"
    with nothing_written(), pytest.raises(ValidationFailed) as refusal2:
        user_create(actor=SYSTEM, email="not-an-address")
    assert refusal2.value.code == "invalid_email"


def test_agents_need_user_create_to_add_users(db, nothing_written):
    agent = AgentFactory()
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        user_create(actor=agent, email="new@example.org")
    assert refusal.value.code == "permission_denied"
    agent.permissions = ["user.create"]
    agent.save()
    assert user_create(actor=agent, email="new@example.org").email == "new@example.org"


def test_find_by_email_probes_the_primary_address_first(db):
    carla = ClientFactory(email="Carla@Example.org")
    UserEmail.objects.create(user=carla, email="carla.alt@example.org")
    with CaptureQueriesContext(connection) as primary:
        assert user_find_by_email(" carla@example.ORG ") == carla
    assert len(primary) == 1
    with CaptureQueriesContext(connection) as extra:
        assert user_find_by_email("CARLA.ALT@example.org") == carla
    assert len(extra) == 2
    assert user_find_by_email("nobody@example.org") is None


def test_get_or_create_by_email_finds_extra_addresses(db):
    carla = ClientFactory(email="carla@example.org")
    UserEmail.objects.create(user=carla, email="c@example.org")
    assert user_get_or_create_by_email(actor=SYSTEM, email="C@example.org") == (carla, False)
    new, created = user_get_or_create_by_email(
        actor=SYSTEM, email="fresh@example.org", name="Fresh"
    )
    assert created and new.name == "Fresh"


def test_organization_create_checks_permission_and_domains(db, nothing_written):
    agent = AgentFactory()
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        organization_create(actor=agent, name="Initech")
    assert refusal.value.code == "permission_denied"
    org = organization_create(actor=SYSTEM, name="Initech", domains=["@Initech.test"])
    assert list(org.domains.values_list("domain", flat=True)) == ["initech.test"]
    with nothing_written(), pytest.raises(Conflict) as refusal2:
        organization_create(actor=SYSTEM, name="Other", domains=["initech.test"])
    assert refusal2.value.code == "organization_exists"
    with nothing_written(), pytest.raises(ValidationFailed) as refusal3:
        organization_create(actor=SYSTEM, name="Bad", domains=["not a domain"])
    assert refusal3.value.code == "invalid"


def test_helpdesk_admins_reach_the_django_admin(db):
    agent = AgentFactory()
    admin = AgentFactory(is_helpdesk_admin=True)
    client = ClientFactory()
    assert (agent.is_staff, admin.is_staff, client.is_staff) == (False, True, False)
    assert admin.has_perm("tickets.view_ticket") and not agent.has_perm("tickets.view_ticket")
