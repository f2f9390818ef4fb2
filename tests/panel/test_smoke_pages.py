import pytest

pytestmark = pytest.mark.django_db


def test_every_main_page_renders_for_an_agent(as_agent_a, ticket_a, cast):
    for url in [
        "/scp/",
        "/scp/dashboard/",
        "/scp/queues/mine/",
        "/scp/queues/closed/",
        f"/scp/tickets/{ticket_a.number}/",
        f"/scp/tickets/{ticket_a.number}/print/",
        "/scp/search/?q=printer",
        "/scp/search/advanced/?q=printer",
        "/scp/profile/",
        "/scp/tickets/new/",
        "/scp/profile/2fa/",
    ]:
        response = as_agent_a.get(url)
        assert response.status_code == 200, url


def test_dashboard_counts_only_what_the_agent_may_see(cast):
    """The audit's finding: per-department counts ignored the visibility rules."""
    from tests.factories import AgentFactory, open_ticket

    from .conftest import signed_in

    for _ in range(3):
        open_ticket(cast.alice, department=cast.dept_a)
    limited = AgentFactory(department=cast.dept_a, assigned_only=True)
    html = signed_in(limited).get("/scp/dashboard/").content.decode()
    assert "<td>Support</td><td>3</td>" not in html
    html = signed_in(cast.agent_a).get("/scp/dashboard/").content.decode()
    assert "<td>Support</td><td>3</td><td>0</td>" in html
