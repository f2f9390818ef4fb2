"""search.all: search reaches tickets of every department (osTicket: "search results
ignore access restrictions"), and what it finds opens (tickets.selectors
.tickets_readable_by): read only outside the agent's departments; queues unchanged."""

import re

import pytest

from tickets import services
from tickets.models import Ticket
from tickets.services import trash_status

from ..factories import open_ticket
from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _numbers(response):
    """Ticket numbers listed (search results or a queue table)."""
    html = response.content.decode()
    found = re.findall(
        r'class="number" href="/scp/tickets/(\w+)/"|href="/scp/tickets/(\w+)/" class="number"',
        html,
    )
    return {a or b for a, b in found}


@pytest.fixture
def seeker(cast):
    cast.agent_a.permissions = ["search.all"]
    cast.agent_a.save(update_fields=["permissions"])
    return signed_in(cast.agent_a)


def test_without_search_all_search_stays_within_what_the_agent_sees(as_agent_a, ticket_b):
    assert _numbers(as_agent_a.get("/scp/search/?q=invoice")) == set()
    assert (
        "No ticket matches." in as_agent_a.get(f"/scp/search/?q={ticket_b.number}").content.decode()
    )
    assert as_agent_a.get(f"/scp/tickets/{ticket_b.number}/").status_code == 404
    advanced = as_agent_a.get("/scp/search/advanced/?q=invoice")
    assert ticket_b.number not in _numbers(advanced)


def test_with_search_all_search_finds_other_departments_tickets_and_they_open(
    cast, seeker, ticket_a, ticket_b
):
    assert _numbers(seeker.get("/scp/search/?q=invoice")) == {ticket_b.number}
    assert seeker.get(f"/scp/search/?q=%23{ticket_b.number}")["Location"] == (
        f"/scp/tickets/{ticket_b.number}/"
    )
    assert ticket_b.number in _numbers(seeker.get("/scp/search/advanced/?q=invoice"))
    page = seeker.get(f"/scp/tickets/{ticket_b.number}/")
    assert page.status_code == 200
    # read only there: no role of the agent applies in Billing
    assert f"/scp/tickets/{ticket_b.number}/reply/" not in page.content.decode()
    refused = seeker.post(
        f"/scp/tickets/{ticket_b.number}/reply/", {"body": "Hi", "version": ticket_b.version}
    )
    assert refused.status_code == 403
    assert not Ticket.objects.get(pk=ticket_b.pk).is_answered


def test_search_all_does_not_widen_the_queues(cast, seeker, ticket_a, ticket_b):
    numbers = _numbers(seeker.get("/scp/queues/open/"))
    assert ticket_a.number in numbers and ticket_b.number not in numbers


def test_search_all_never_reaches_deleted_tickets(cast, seeker, ticket_b):
    services.ticket_set_status(actor=cast.admin, ticket=ticket_b, status=trash_status())
    assert _numbers(seeker.get("/scp/search/?q=invoice")) == set()
    assert seeker.get(f"/scp/tickets/{ticket_b.number}/").status_code == 404


def test_search_all_is_an_agent_permission_clients_never_get_it(cast):
    ticket = open_ticket(cast.bob, department=cast.dept_b, subject="Invoice")
    cast.alice.permissions = ["search.all"]  # meaningless on a client
    cast.alice.save(update_fields=["permissions"])
    assert signed_in(cast.alice).get(f"/tickets/{ticket.number}/").status_code == 404


def test_the_api_answers_as_the_panel_a_found_ticket_reads_and_lists_stay_as_they_were(
    cast, ticket_b
):
    from tests.api.conftest import Api

    without = Api(cast).agent(cast.agent_a)
    assert without.get(f"/api/v1/tickets/{ticket_b.number}/").status_code == 404
    cast.agent_a.permissions = ["search.all"]
    cast.agent_a.save(update_fields=["permissions"])
    client = Api(cast).agent(cast.agent_a)
    assert client.get(f"/api/v1/tickets/{ticket_b.number}/").status_code == 200
    listed = {t["number"] for t in client.get("/api/v1/tickets/").json()["results"]}
    assert ticket_b.number not in listed
