"""Statement budgets of the panel's busiest pages (issue 19): the queue page under ten
statements whatever its page size, the task queue the same, the ticket view and search
constant in the size of what they show. The budgets count everything a request runs:
the session, the user (with role, preferences and second factor), the page's counts in
one statement (helpdesk.counts), its rows in one statement; the bulk pickers come from
the configuration cache (helpdesk.panel.pickers) once it is warm."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.panel.models import AgentPreferences
from tickets import services

from ..factories import AgentFactory, TeamFactory, open_ticket, role
from .conftest import new_task, signed_in

pytestmark = pytest.mark.django_db

QUEUE_BUDGET = 9  # issue 19: "a constant under 10"
TASK_QUEUE_BUDGET = 9
# the thread's posters are read apart from its entries, each once (issue 19): one more
TICKET_VIEW_BUDGET = 22
# PostgreSQL: the sources and their ranking keys in one statement; SQLite: one per source.
# One of them reads the settings row: the rows' configuration comes from its snapshot
SEARCH_BUDGET = 10 if connection.vendor == "postgresql" else 12


def _statements(client, url: str) -> list[str]:
    client.get(url)  # the first visit writes the session and warms the configuration cache
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.fixture
def chief(cast):
    """An agent of department A allowed every bulk action (so the pickers are shown),
    in a team, with a page size of 10."""
    agent = AgentFactory(department=cast.dept_a, role=role("All Access"))
    TeamFactory(members=[agent])
    AgentPreferences.objects.create(agent=agent, page_size=10)
    return agent


def _resize(agent, size: int) -> None:
    AgentPreferences.objects.filter(agent=agent).update(page_size=size)


def test_the_queue_page_stays_under_ten_statements_whatever_its_size(cast, chief):
    team = TeamFactory(members=[chief])
    for i in range(12):
        t = open_ticket(cast.alice, department=cast.dept_a, subject=f"Ticket {i}")
        services.ticket_assign(actor=cast.admin, ticket=t, agent=cast.manager_a, team=team)
        if i % 2:  # locked by someone else: the row shows it
            services.ticket_lock_acquire(actor=cast.admin, ticket=t)
    client = signed_in(chief)
    small = _statements(client, "/scp/queues/open/")
    html = client.get("/scp/queues/open/").content.decode()
    assert 'name="department"' in html and 'class="badge lock"' in html  # pickers, locks
    for i in range(40):
        open_ticket(cast.alice, department=cast.dept_a, subject=f"More {i}")
    _resize(chief, 50)
    large = _statements(client, "/scp/queues/open/")
    assert len(large) == len(small) <= QUEUE_BUDGET, large
    # the sidebar's counts, the header's tasks and the bell: one statement
    assert sum("COUNT(*)" in sql for sql in large) == 1


def test_the_task_queue_stays_under_ten_statements_whatever_its_size(cast, chief):
    for i in range(10):
        new_task(cast.admin, department=cast.dept_a, title=f"Task {i}", assignee=chief)
    client = signed_in(chief)
    small = _statements(client, "/scp/tasks/")
    for i in range(40):
        new_task(cast.admin, department=cast.dept_a, title=f"More {i}")
    _resize(chief, 50)
    large = _statements(client, "/scp/tasks/")
    assert len(large) == len(small) <= TASK_QUEUE_BUDGET, large
    assert sum("COUNT(*)" in sql for sql in large) == 1  # the tabs' counts with the frame's


def test_the_ticket_view_has_a_fixed_budget(cast, chief):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    client = signed_in(chief)
    short = _statements(client, f"/scp/tickets/{ticket.number}/")
    for i in range(10):
        services.ticket_post_reply(actor=cast.admin, ticket=ticket, body=f"Reply {i}")
        services.ticket_post_note(actor=chief, ticket=ticket, body=f"Note {i}")
    long = _statements(client, f"/scp/tickets/{ticket.number}/")
    assert len(long) == len(short) <= TICKET_VIEW_BUDGET, long


def test_search_has_a_fixed_budget_whatever_it_finds(cast, chief):
    open_ticket(cast.alice, department=cast.dept_a, subject="Printer jams")
    client = signed_in(chief)
    few = _statements(client, "/scp/search/?q=printer")
    for i in range(30):
        open_ticket(cast.alice, department=cast.dept_a, subject=f"Printer {i} is out of toner")
    many = _statements(client, "/scp/search/?q=printer")
    assert len(many) == len(few) <= SEARCH_BUDGET, many
