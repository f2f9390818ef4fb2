"""Keyset pagination, filters, ordering and query budgets of the list endpoints."""

import datetime as dt

import pytest
from django.utils import timezone

from threads.models import ThreadEntry
from tickets.models import Ticket

from ..factories import attachment, open_ticket, priority, status
from .conftest import problem, queries_of, walk


@pytest.fixture
def many(cast):
    """30 tickets in Support with distinct, known creation and update times."""
    base = timezone.now() - dt.timedelta(days=30)
    tickets = []
    for i in range(30):
        t = open_ticket(cast.alice, department=cast.dept_a, subject=f"Ticket {i:02d}")
        Ticket.objects.filter(pk=t.pk).update(
            created_at=base + dt.timedelta(hours=i), updated_at=base + dt.timedelta(hours=i)
        )
        tickets.append(t)
    return tickets


def test_cursor_pages_cover_every_ticket_once_newest_first(api, cast, many):
    seen, pages = walk(api.agent(cast.agent_a), "/api/v1/tickets/?page_size=7")

    assert seen == [t.number for t in reversed(many)]
    assert pages == 5


def test_ordering_is_whitelisted_and_walks_both_ways(api, cast, many):
    client = api.agent(cast.agent_a)
    seen, _ = walk(client, "/api/v1/tickets/?page_size=8&ordering=created_at")
    assert seen == [t.number for t in many]

    second = client.get(client.get("/api/v1/tickets/?page_size=8").json()["next"]).json()
    back = client.get(second["previous"]).json()
    assert [t["number"] for t in back["results"]] == [t.number for t in reversed(many)][:8]

    refused = client.get("/api/v1/tickets/?ordering=subject")
    assert refused.status_code == 400
    assert problem(refused)["errors"] == {
        "ordering": ["Choose one of: -updated_at, updated_at, -created_at, created_at."]
    }


def test_ties_in_the_ordering_field_are_broken_by_id(api, cast, many):
    same = timezone.now()
    Ticket.objects.update(updated_at=same)

    seen, _ = walk(api.agent(cast.agent_a), "/api/v1/tickets/?page_size=4")

    assert seen == [t.number for t in sorted(many, key=lambda t: -t.pk)]


def test_page_size_defaults_to_25_and_is_capped_at_100(api, cast, many):
    client = api.agent(cast.agent_a)

    assert len(client.get("/api/v1/tickets/").json()["results"]) == 25
    for size in ("101", "0"):
        refused = client.get(f"/api/v1/tickets/?page_size={size}")
        assert refused.status_code == 400, size
        assert problem(refused)["errors"] == {"page_size": ["A whole number from 1 to 100."]}


def test_a_forged_cursor_is_a_400(api, cast, many):
    response = api.agent(cast.agent_a).get("/api/v1/tickets/?cursor=bm9wZQ")

    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "cursor": ["Invalid cursor: use the next or previous link as given."]
    }


def test_filters(api, cast, many):
    client = api.agent(cast.agent_a)
    target = many[3]
    Ticket.objects.filter(pk=target.pk).update(is_overdue=True, priority=priority("High"))
    client.post(f"/api/v1/tickets/{many[4].number}/claim/")
    client.post(f"/api/v1/tickets/{many[5].number}/status/", {"status": status("Resolved").pk})

    def found(query):
        response = client.get(f"/api/v1/tickets/?page_size=100&{query}")
        assert response.status_code == 200, response.content
        return {t["number"] for t in response.json()["results"]}

    assert found("overdue=true") == {target.number}
    assert found(f"priority={priority('High').pk}") == {target.number}
    # claimed, and closed by the agent (who takes an unassigned ticket they close)
    assert found("assignee=me") == {many[4].number, many[5].number}
    assert found(f"assignee={cast.agent_a.pk}") == {many[4].number, many[5].number}
    assert found("state=closed") == {many[5].number}
    assert found(f"status={status('Resolved').pk}") == {many[5].number}
    assert found(f"department={cast.dept_b.pk}") == set()
    assert found(f"requester={cast.alice.pk}") == {t.number for t in many}
    assert found(f"q={target.number}") == {target.number}
    assert found("q=Ticket 07") == {many[7].number}
    since = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    assert found(f"updated_since={since.replace('+', '%2B')}") == {many[4].number, many[5].number}


def test_state_and_status_filters_list_each_ticket_once_without_distinct(api, cast, many):
    """Several states or statuses at once still list each ticket once, and the list's
    statement has no DISTINCT (which made PostgreSQL sort every match before the first
    page; bench/indexes.py)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api.agent(cast.agent_a)
    client.post(f"/api/v1/tickets/{many[5].number}/status/", {"status": status("Resolved").pk})
    query = f"state=open&state=closed&status={status('Open').pk}&status={status('Resolved').pk}"
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/tickets/?page_size=100&{query}")
    assert response.status_code == 200, response.content
    numbers = [t["number"] for t in response.json()["results"]]
    assert sorted(numbers) == sorted(t.number for t in many)
    listed = [q["sql"] for q in ctx.captured_queries if 'FROM "tickets_ticket"' in q["sql"]]
    assert listed and not any("DISTINCT" in sql for sql in listed)


def test_bad_filter_values_are_400s(api, cast):
    client = api.agent(cast.agent_a)

    for query in ("state=bogus", "assignee=someone", "updated_since=yesterday", "status=abc"):
        response = client.get(f"/api/v1/tickets/?{query}")
        assert response.status_code == 400, query
        assert problem(response)["code"] == "invalid"


def test_the_ticket_list_costs_the_same_queries_whatever_the_page_size(
    api, cast, many, django_assert_num_queries
):
    client = api.agent(cast.agent_a)
    client.get("/api/v1/tickets/")  # token row touched once

    # the token, the agent's department accesses, the page, and one query per related
    # configuration row type present (here departments and organizations)
    with django_assert_num_queries(5):
        client.get("/api/v1/tickets/?page_size=2")
    with django_assert_num_queries(5):
        client.get("/api/v1/tickets/?page_size=30")


def test_the_entry_list_costs_the_same_queries_whatever_the_page_size(
    api, cast, django_assert_num_queries
):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    for i in range(12):
        from tickets import services

        services.ticket_post_note(
            actor=cast.agent_a, ticket=ticket, body=f"note {i}", files=[attachment(name=f"{i}.txt")]
        )
    client = api.agent(cast.agent_a)
    client.get(f"/api/v1/tickets/{ticket.number}/entries/")
    assert ThreadEntry.objects.filter(thread_id=ticket.thread_id).count() == 13

    small = queries_of(client, f"/api/v1/tickets/{ticket.number}/entries/?page_size=2")
    with django_assert_num_queries(small):
        client.get(f"/api/v1/tickets/{ticket.number}/entries/?page_size=13")
    # token, department accesses, the ticket (+ its department and organization), entries,
    # their posters (each once), their attachments
    assert small == 8
