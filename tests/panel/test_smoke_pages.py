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
