"""visibility.departments and visibility.agents: the panel's department and agent
pickers show what the agent may see, unless they hold these; both sides."""

import re

import pytest

from tickets.models import Ticket

from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _options(html: str, name: str) -> set[str]:
    """The labels of the <select name=...>'s options."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {name}"
    return set(re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1)))


def _grant(agent, *keys):
    agent.permissions = list(keys)
    agent.save(update_fields=["permissions"])


def test_department_pickers_show_only_my_departments_without_visibility_departments(cast):
    html = signed_in(cast.agent_a).get("/scp/search/advanced/").content.decode()
    assert "Support" in _options(html, "department")
    assert "Billing" not in _options(html, "department")
    new = signed_in(cast.agent_a).get("/scp/tickets/new/").content.decode()
    assert "Billing" not in _options(new, "department")


def test_with_visibility_departments_every_department_is_offered(cast):
    _grant(cast.agent_a, "visibility.departments")
    html = signed_in(cast.agent_a).get("/scp/search/advanced/").content.decode()
    assert {"Support", "Billing"} <= _options(html, "department")


def test_a_department_outside_my_view_is_refused_as_a_search_criterion(cast):
    response = signed_in(cast.agent_a).get(f"/scp/search/advanced/?department={cast.dept_b.pk}")
    assert response.status_code == 400


def test_transfer_still_offers_every_department_to_hand_work_over(cast, ticket_a):
    html = signed_in(cast.agent_a).get(f"/scp/tickets/{ticket_a.number}/do/transfer/")
    assert "Billing" in _options(html.content.decode(), "department")


def test_agent_pickers_show_only_agents_sharing_a_department(cast, ticket_a):
    client = signed_in(cast.agent_a)
    html = client.get(f"/scp/tickets/{ticket_a.number}/do/assign/").content.decode()
    agents = _options(html, "agent")
    assert cast.manager_a.display_name in agents and cast.agent_a.display_name in agents
    assert cast.agent_b.display_name not in agents
    # posted anyway: refused like any choice not offered, nothing assigned
    response = client.post(
        f"/scp/tickets/{ticket_a.number}/do/assign/",
        {"agent": cast.agent_b.pk, "version": ticket_a.version},
    )
    assert response.status_code == 422
    assert Ticket.objects.get(pk=ticket_a.pk).assignee_id is None


def test_with_visibility_agents_every_agent_is_offered_and_can_be_chosen(cast, ticket_a):
    _grant(cast.agent_a, "visibility.agents")
    client = signed_in(cast.agent_a)
    html = client.get(f"/scp/tickets/{ticket_a.number}/do/assign/").content.decode()
    assert cast.agent_b.display_name in _options(html, "agent")
    response = client.post(
        f"/scp/tickets/{ticket_a.number}/do/assign/",
        {"agent": cast.agent_b.pk, "version": ticket_a.version},
    )
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket_a.pk).assignee_id == cast.agent_b.pk


def test_the_advanced_search_assignee_list_follows_visibility_agents(cast):
    html = signed_in(cast.agent_a).get("/scp/search/advanced/").content.decode()
    assert cast.agent_b.display_name not in _options(html, "assignee")
    _grant(cast.agent_a, "visibility.agents")
    html = signed_in(cast.agent_a).get("/scp/search/advanced/").content.decode()
    assert cast.agent_b.display_name in _options(html, "assignee")


def test_the_account_manager_picker_offers_only_visible_agents_and_refuses_a_hidden_one(cast):
    from accounts.models import Organization

    _grant(cast.agent_a, "org.create")
    client = signed_in(cast.agent_a)
    html = client.get("/scp/orgs/new/").content.decode()
    managers = _options(html, "manager")
    assert cast.manager_a.display_name in managers and cast.agent_a.display_name in managers
    assert cast.agent_b.display_name not in managers
    # posted anyway: a form error, no organization created
    response = client.post(
        "/scp/orgs/new/", {"name": "Initech", "sharing": "all", "manager": f"a{cast.agent_b.pk}"}
    )
    assert response.status_code == 422
    assert not Organization.objects.filter(name="Initech").exists()


def test_with_visibility_agents_any_agent_can_be_the_account_manager(cast):
    from accounts.models import Organization

    _grant(cast.agent_a, "org.create", "org.edit", "visibility.agents")
    client = signed_in(cast.agent_a)
    assert cast.agent_b.display_name in _options(
        client.get("/scp/orgs/new/").content.decode(), "manager"
    )
    response = client.post(
        "/scp/orgs/new/", {"name": "Initech", "sharing": "all", "manager": f"a{cast.agent_b.pk}"}
    )
    assert response.status_code == 302
    org = Organization.objects.get(name="Initech")
    assert org.manager_agent_id == cast.agent_b.pk


def test_editing_keeps_a_current_manager_the_editor_cannot_see(cast):
    from ..factories import AgentFactory

    other_b = AgentFactory(name="Other Billing", department=cast.dept_b)
    cast.acme.manager_agent = cast.agent_b
    cast.acme.save(update_fields=["manager_agent"])
    _grant(cast.agent_a, "org.edit")
    client = signed_in(cast.agent_a)
    html = client.get(f"/scp/orgs/{cast.acme.pk}/edit/").content.decode()
    managers = _options(html, "manager")
    assert cast.agent_b.display_name in managers  # the current one, not every hidden agent
    assert other_b.display_name not in managers
    response = client.post(
        f"/scp/orgs/{cast.acme.pk}/edit/",
        {"name": "Acme Corp", "sharing": "all", "manager": f"a{cast.agent_b.pk}"},
    )
    assert response.status_code == 302
    cast.acme.refresh_from_db()
    assert (cast.acme.name, cast.acme.manager_agent_id) == ("Acme Corp", cast.agent_b.pk)
