"""Reference resources: read for agents and API keys, write for helpdesk admins (or
the agent-wide permission), never for clients."""

import pytest

from accounts.models import Organization, User
from helpdesk.kb.models import CannedResponse
from routing.models import Department, Team
from tickets.models import Priority

from ..factories import AgentFactory, DepartmentFactory, TeamFactory, open_ticket
from .conftest import problem

READABLE = [
    "departments",
    "teams",
    "topics",
    "slas",
    "statuses",
    "priorities",
    "agents",
]


def test_the_organization_directory_needs_user_dir(api, cast):
    """The audit's finding: every agent could list organizations and their notes."""
    assert api.agent(cast.agent_a).get("/api/v1/organizations/").status_code == 403
    cast.agent_a.permissions = ["user.dir"]
    cast.agent_a.save()
    assert api.agent(cast.agent_a).get("/api/v1/organizations/").status_code == 200
    assert api.key(read=[cast.dept_a]).get("/api/v1/organizations/").status_code == 200
    assert api.client_user(cast.alice).get("/api/v1/organizations/").status_code == 403


@pytest.mark.parametrize("resource", READABLE)
def test_agents_and_keys_read_clients_do_not(api, cast, resource):
    assert api.agent(cast.agent_a).get(f"/api/v1/{resource}/").status_code == 200
    assert api.key(read=[cast.dept_a]).get(f"/api/v1/{resource}/").status_code == 200
    refused = api.client_user(cast.alice).get(f"/api/v1/{resource}/")
    assert refused.status_code == 403
    assert problem(refused)["code"] == "permission_denied"


def test_statuses_list_the_seeded_ones_in_id_order(api, cast):
    rows = api.agent(cast.agent_a).get("/api/v1/statuses/").json()["results"]

    assert [r["name"] for r in rows][:5] == ["Open", "Resolved", "Closed", "Archived", "Deleted"]


def test_admins_create_change_and_delete_configuration(api, cast):
    client = api.agent(cast.admin)

    created = client.post("/api/v1/departments/", {"name": "Sales"}, format="json")
    dept_id = created.json()["id"]
    changed = client.patch(f"/api/v1/departments/{dept_id}/", {"is_public": False}, format="json")
    deleted = client.delete(f"/api/v1/departments/{dept_id}/")

    assert (created.status_code, changed.status_code, deleted.status_code) == (201, 200, 204)
    assert changed.json()["is_public"] is False
    assert not Department.objects.filter(name="Sales").exists()


def test_a_department_in_use_cannot_be_deleted(api, cast, nothing_written):
    open_ticket(cast.alice, department=cast.dept_a)

    client = api.agent(cast.admin)
    with nothing_written():
        response = client.delete(f"/api/v1/departments/{cast.dept_a.pk}/")

    assert response.status_code == 409
    assert problem(response)["code"] == "in_use"
    assert Department.objects.filter(pk=cast.dept_a.pk).exists()


def test_model_rules_apply_to_admin_writes(api, cast, nothing_written):
    child = DepartmentFactory(name="Child", parent=cast.dept_a)
    client = api.agent(cast.admin)

    with nothing_written():
        cycle = client.patch(
            f"/api/v1/departments/{cast.dept_a.pk}/", {"parent": child.pk}, format="json"
        )
        colour = client.post(
            "/api/v1/priorities/", {"name": "Urgent", "urgency": 0, "colour": "red"}, format="json"
        )
    duplicate = client.post("/api/v1/teams/", {"name": "T"}, format="json")
    with nothing_written():
        again = client.post("/api/v1/teams/", {"name": "T"}, format="json")

    assert cycle.status_code == 422
    assert problem(cycle)["errors"] == {"parent": ["This would make it its own ancestor."]}
    assert colour.status_code == 422
    assert problem(colour)["errors"] == {"colour": ["A colour like #ff0000."]}
    assert duplicate.status_code == 201 and again.status_code == 422
    assert problem(again)["errors"] == {"name": ["team with this name already exists."]}
    assert Team.objects.filter(name="T").count() == 1
    assert not Priority.objects.filter(name="Urgent").exists()
    cast.dept_a.refresh_from_db()
    assert cast.dept_a.parent is None


def test_agents_who_are_not_admins_cannot_write_configuration(api, cast, nothing_written):
    client = api.agent(cast.agent_a)

    with nothing_written():
        created = client.post("/api/v1/teams/", {"name": "Mine"}, format="json")
        changed = client.patch(
            f"/api/v1/departments/{cast.dept_a.pk}/", {"name": "X"}, format="json"
        )

    assert (created.status_code, changed.status_code) == (403, 403)
    assert problem(created)["code"] == problem(changed)["code"] == "permission_denied"
    assert not Team.objects.exists()
    cast.dept_a.refresh_from_db()
    assert cast.dept_a.name == "Support"


def test_keys_cannot_write_configuration(api, cast, nothing_written):
    client = api.key(write=[cast.dept_a])
    with nothing_written():
        response = client.post("/api/v1/teams/", {"name": "K"}, format="json")

    assert response.status_code == 403
    assert problem(response)["code"] == "permission_denied"
    assert not Team.objects.exists()


def test_the_user_directory_needs_user_dir(api, cast):
    assert api.agent(cast.agent_a).get("/api/v1/users/").status_code == 403
    browser = AgentFactory(department=cast.dept_a, permissions=["user.dir"])
    rows = api.agent(browser).get("/api/v1/users/?email=BOB@globex.test").json()["results"]
    assert [u["email"] for u in rows] == ["bob@globex.test"]


def test_users_are_created_through_the_service(api, cast, nothing_written):
    creator = AgentFactory(department=cast.dept_a, permissions=["user.dir", "user.create"])

    created = api.agent(creator).post(
        "/api/v1/users/", {"email": "new@acme.test", "name": "New"}, format="json"
    )
    client = api.agent(creator)
    with nothing_written():
        duplicate = client.post(
            "/api/v1/users/", {"email": "NEW@acme.test", "name": "Again"}, format="json"
        )

    assert created.status_code == 201
    assert duplicate.status_code == 409
    assert problem(duplicate)["code"] == "user_exists"
    assert problem(duplicate)["detail"] == "A user with the address new@acme.test already exists."
    assert User.objects.filter(email__iexact="new@acme.test").count() == 1


def test_organizations_with_domains(api, cast, nothing_written):
    client = api.agent(cast.admin)

    created = client.post(
        "/api/v1/organizations/", {"name": "Initech", "domains": ["initech.test"]}, format="json"
    )
    org_id = created.json()["id"]
    changed = client.patch(
        f"/api/v1/organizations/{org_id}/", {"domains": ["initech.example"]}, format="json"
    )
    with nothing_written():
        taken = client.patch(
            f"/api/v1/organizations/{cast.acme.pk}/",
            {"name": "Acme 2", "domains": ["initech.example"]},
            format="json",
        )

    assert created.status_code == 201 and created.json()["email_domains"] == ["initech.test"]
    assert changed.json()["email_domains"] == ["initech.example"]
    assert taken.status_code == 409
    assert problem(taken)["detail"] == "initech.example belongs to another organization."
    assert Organization.objects.get(pk=cast.acme.pk).name == "Acme"


def test_canned_responses_through_the_kb_services(api, cast, nothing_written):
    client = api.agent(cast.agent_a)

    created = client.post(
        "/api/v1/canned-responses/",
        {
            "title": "Thanks",
            "body": "<p>Thanks %{recipient.name}</p>",
            "department": cast.dept_a.pk,
        },
        format="json",
    )
    canned_id = created.json()["id"]
    listed = client.get("/api/v1/canned-responses/").json()["results"]
    hidden = api.agent(cast.agent_b).get(f"/api/v1/canned-responses/{canned_id}/")
    agent_b_client = api.agent(cast.agent_b)
    with nothing_written():
        refused = agent_b_client.delete(f"/api/v1/canned-responses/{canned_id}/")

    assert created.status_code == 201
    assert [c["title"] for c in listed] == ["Thanks"]
    assert hidden.status_code == 404 and refused.status_code == 404
    assert problem(refused)["code"] == "not_found"
    assert client.delete(f"/api/v1/canned-responses/{canned_id}/").status_code == 204
    assert not CannedResponse.objects.exists()


def test_agents_see_agents_of_their_departments(api, cast):
    rows = api.agent(cast.agent_b).get("/api/v1/agents/?page_size=100").json()["results"]

    assert {r["username"] for r in rows} == {"bea"}


def test_organizations_with_an_account_manager(api, cast):
    team = TeamFactory(name="Key accounts")
    admin = api.agent(cast.admin)
    created = admin.post(
        "/api/v1/organizations/",
        {"name": "Initech", "manager_agent": cast.agent_a.pk, "auto_assign_manager": True},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["manager_agent"], body["auto_assign_manager"]) == (cast.agent_a.pk, True)
    both = admin.patch(
        f"/api/v1/organizations/{body['id']}/", {"manager_team": team.pk}, format="json"
    )
    assert both.status_code == 422
    org = Organization.objects.get(pk=body["id"])
    assert (org.manager_agent, org.manager_team) == (cast.agent_a, None)
    client_as_manager = admin.post(
        "/api/v1/organizations/", {"name": "Bad", "manager_agent": cast.bob.pk}, format="json"
    )
    assert client_as_manager.status_code == 422
    assert not Organization.objects.filter(name="Bad").exists()
