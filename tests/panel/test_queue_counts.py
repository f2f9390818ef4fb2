"""The sidebar's queue counts as a fragment htmx polls every minute and after actions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets import services

from ..factories import open_ticket
from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _count(html: str, slug: str) -> str:
    start = html.index(f'data-queue="{slug}"')
    chunk = html[start : html.index("</li>", start)]
    return chunk.split('<span class="count">')[1].split("</span>")[0]


def test_the_counts_fragment_holds_only_the_queues_and_their_counts(cast, as_agent_a):
    open_ticket(cast.alice, department=cast.dept_a)
    response = as_agent_a.get("/scp/queues/counts/?current=open")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<ul class="queues" id="queue-counts"')
    assert 'hx-trigger="every 60s, queues-changed from:body"' in html
    assert "<html" not in html and "quicksearch" not in html
    assert _count(html, "open") == "1" and _count(html, "mine") == "0"
    assert 'data-queue="open" aria-current="page"' in html


def test_the_counts_follow_changes_and_what_the_agent_may_see(cast, as_agent_a):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    open_ticket(cast.bob, department=cast.dept_b)  # not visible to agent A
    assert _count(as_agent_a.get("/scp/queues/counts/").content.decode(), "open") == "1"
    services.ticket_claim(actor=cast.agent_a, ticket=ticket)
    html = as_agent_a.get("/scp/queues/counts/").content.decode()
    assert _count(html, "mine") == "1" and _count(html, "unassigned") == "0"


def test_the_counts_need_a_signed_in_agent(cast, client):
    response = client.get("/scp/queues/counts/")
    assert response.status_code == 302 and "/scp/login/" in response["Location"]
    assert signed_in(cast.alice).get("/scp/queues/counts/").status_code == 403


def test_the_counts_cost_the_same_whatever_the_number_of_tickets(cast, as_agent_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_agent_a.get("/scp/queues/counts/").status_code == 200
        return len(ctx.captured_queries)

    open_ticket(cast.alice, department=cast.dept_a)
    few = queries()
    for _ in range(20):
        open_ticket(cast.alice, department=cast.dept_a)
    assert queries() == few


def test_a_full_page_embeds_the_same_fragment(cast, as_agent_a):
    html = as_agent_a.get("/scp/queues/mine/").content.decode()
    assert 'id="queue-counts"' in html and 'hx-get="/scp/queues/counts/?current=mine"' in html
