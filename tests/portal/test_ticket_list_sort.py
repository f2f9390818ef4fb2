"""The portal's ticket list sorts by what each column shows (number, subject, the
status as clients see it, the requester's name, the last update they can see), both
ways, newest update first by default; statuses show by their client-facing name."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tickets import services
from tickets.models import State, Ticket, TicketStatus

from ..factories import open_ticket


@pytest.fixture
def listed(helpdesk):
    """Three tickets alice sees (hers and her colleague's), updated in another order
    than they were opened, with numbers of different widths."""
    cast = helpdesk
    start = timezone.now() - dt.timedelta(days=3)
    with time_machine.travel(start, tick=False):
        a = open_ticket(cast.alice, subject="beta printer")
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        b = open_ticket(cast.alice_colleague, subject="Alpha laptop")
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        c = open_ticket(cast.alice, subject="gamma screen")
    with time_machine.travel(start + dt.timedelta(hours=5), tick=False):
        services.ticket_post_message(actor=cast.alice, ticket=a, body="any news?")
    Ticket.objects.filter(pk=a.pk).update(number="9")
    Ticket.objects.filter(pk=b.pk).update(number="10")
    Ticket.objects.filter(pk=c.pk).update(number="100")
    waiting = TicketStatus.objects.create(
        name="Waiting for vendor", client_name="In progress", state=State.OPEN, sort=50
    )
    services.ticket_set_status(actor=cast.agent_a, ticket=c, status=waiting)
    type(cast.alice).objects.filter(pk=cast.alice.pk).update(name="alice Smith")
    type(cast.alice).objects.filter(pk=cast.alice_colleague.pk).update(name="Carl Jones")
    return {"a": "9", "b": "10", "c": "100"}


def numbers(client, query=""):
    response = client.get("/tickets/?state=all" + query)
    assert response.status_code == 200
    return [t.number for t in response.context["page"]]


def test_the_list_sorts_by_each_column_both_ways(client, helpdesk, listed):
    client.force_login(helpdesk.alice)
    a, b, c = listed["a"], listed["b"], listed["c"]
    assert numbers(client, "&sort=number") == [a, b, c]  # 9, 10, 100: as numbers
    assert numbers(client, "&sort=-number") == [c, b, a]
    assert numbers(client, "&sort=subject") == [b, a, c]  # Alpha, beta, gamma: any case
    assert numbers(client, "&sort=-subject") == [c, a, b]
    # the client-facing names: "In progress" before "Open"
    assert numbers(client, "&sort=status")[0] == c
    assert numbers(client, "&sort=-status")[-1] == c
    # requesters by name, any case ("alice Smith" before "Carl Jones"), then oldest first
    assert numbers(client, "&sort=requester") == [a, c, b]
    assert numbers(client, "&sort=-requester") == [b, c, a]


def test_the_default_is_the_last_update_newest_first(client, helpdesk, listed):
    client.force_login(helpdesk.alice)
    a, b, c = listed["a"], listed["b"], listed["c"]
    # c's status change is internal (not a public update); a's message came last
    assert numbers(client) == [a, c, b]
    assert numbers(client, "&sort=-updated") == [a, c, b]
    assert numbers(client, "&sort=updated") == [b, c, a]


def test_headers_link_to_sorting_and_say_how_it_is_sorted(client, helpdesk, listed):
    client.force_login(helpdesk.alice)
    html = client.get("/tickets/?state=all&sort=subject").content.decode()
    assert 'aria-sort="ascending"' in html
    assert "sort=-subject" in html  # the subject header turns the order round
    assert "sort=number" in html and "sort=status" in html and "sort=updated" in html
    # the pager and the filter form keep the order
    assert '<input type="hidden" name="sort" value="subject">' in html


def test_a_bad_sort_answers_400_with_the_list(client, helpdesk, listed):
    client.force_login(helpdesk.alice)
    response = client.get("/tickets/?state=all&sort=password")
    assert response.status_code == 400
    assert len(response.context["page"]) == 3


def test_statuses_show_by_their_client_facing_name(client, helpdesk, listed):
    client.force_login(helpdesk.alice)
    html = client.get("/tickets/?state=all").content.decode()
    assert "In progress" in html and "Waiting for vendor" not in html
    page = client.get(f"/tickets/{listed['c']}/").content.decode()
    assert "In progress" in page and "Waiting for vendor" not in page


def test_sorting_costs_the_same_queries_for_3_or_30_tickets(client, helpdesk):
    cast = helpdesk
    client.force_login(cast.alice)

    def count(sort):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/tickets/?state=all&sort={sort}").status_code == 200
        return len(ctx)

    for i in range(3):
        open_ticket(cast.alice, subject=f"t{i}")
    count("status")
    few = {sort: count(sort) for sort in ("status", "-requester", "updated")}
    for i in range(27):
        open_ticket(cast.alice_colleague if i % 2 else cast.alice, subject=f"more {i}")
    assert {sort: count(sort) for sort in few} == few
