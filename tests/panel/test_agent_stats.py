"""stats.agents: the agents' statistics page, both sides, counts and query budget."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets import services
from tickets.models import Ticket

from ..factories import AgentFactory, open_ticket, status
from .conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(cast):
    return AgentFactory(username="lead", department=cast.dept_a, permissions=["stats.agents"])


def _row(body: str, username: str) -> str:
    start = body.index(f'data-agent="{username}"')
    return body[start : body.index("</tr>", start)]


def test_counts_assigned_overdue_and_closed_per_agent_of_my_departments(cast, lead):
    t1 = open_ticket(cast.alice, department=cast.dept_a, subject="one")
    t2 = open_ticket(cast.alice, department=cast.dept_a, subject="two")
    t3 = open_ticket(cast.alice, department=cast.dept_a, subject="three")
    for t in (t1, t2, t3):
        services.ticket_assign(actor=cast.admin, ticket=t, agent=cast.agent_a)
    Ticket.objects.filter(pk=t2.pk).update(is_overdue=True)
    services.ticket_set_status(
        actor=cast.admin, ticket=Ticket.objects.get(pk=t3.pk), status=status("Closed")
    )
    # department B's ticket assigned to bea: not in the lead's departments
    tb = open_ticket(cast.bob, department=cast.dept_b)
    services.ticket_assign(actor=cast.admin, ticket=tb, agent=cast.agent_b)

    response = signed_in(lead).get("/scp/stats/agents/")
    assert response.status_code == 200
    body = response.content.decode()
    row = _row(body, "alex")
    assert 'data-col="assigned">2<' in row
    assert 'data-col="overdue">1<' in row
    assert 'data-col="closed">1<' in row
    assert 'data-agent="bea"' not in body  # an agent of another department


def test_without_stats_agents_the_page_is_refused(cast):
    response = signed_in(cast.agent_a).get("/scp/stats/agents/")
    assert response.status_code == 403
    assert b'data-permission="stats.agents"' in response.content
    assert b'href="/scp/stats/agents/"' not in signed_in(cast.agent_a).get("/scp/").content


def test_a_bad_period_is_a_400_with_the_page(lead):
    response = signed_in(lead).get("/scp/stats/agents/?days=13")
    assert response.status_code == 400
    assert b'id="agent-stats"' in response.content


def test_the_query_count_does_not_grow_with_the_agents(cast, lead):
    client = signed_in(lead)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/scp/stats/agents/").status_code == 200
        return len(ctx)

    few = count()
    for i in range(15):
        agent = AgentFactory(username=f"extra{i}", department=cast.dept_a)
        t = open_ticket(cast.alice, department=cast.dept_a, subject=f"t{i}")
        services.ticket_assign(actor=cast.admin, ticket=t, agent=agent)
    assert count() == few
