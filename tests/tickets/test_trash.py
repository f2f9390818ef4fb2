"""Moving to the trash has one home (tickets.services.ticket_delete, trash_status), used
by the panel's delete button and its bulk delete. Without a deleted status nothing is
deleted and the agent is told why, once; never a 500."""

import pytest

from accounts.errors import Conflict, NotVisible, PermissionRefused
from threads.models import ThreadEvent
from tickets import services
from tickets.models import State, Ticket, TicketStatus

from ..factories import AgentFactory, open_ticket, role
from ..panel.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_trash(db):
    TicketStatus.objects.filter(state=State.DELETED).delete()


def _open(cast, n=1):
    return [open_ticket(cast.alice, department=cast.dept_a, subject=f"T{i}") for i in range(n)]


def _unchanged(ticket):
    fresh = Ticket.objects.get(pk=ticket.pk)
    return (fresh.state, fresh.version) == (ticket.state, ticket.version) and not (
        ThreadEvent.objects.filter(
            thread_id=ticket.thread_id, kind=ThreadEvent.Kind.STATUS_CHANGED
        ).exists()
    )


def test_the_trash_is_the_first_deleted_status_by_sort(cast):
    seeded = TicketStatus.objects.get(state=State.DELETED)
    TicketStatus.objects.create(name="Binned", state=State.DELETED, sort=seeded.sort + 1)

    assert services.trash_status() == seeded
    ticket = services.ticket_delete(actor=cast.agent_a, ticket=_open(cast)[0])
    assert (ticket.state, ticket.status) == (State.DELETED, seeded)


def test_without_a_deleted_status_the_service_refuses_and_writes_nothing(
    cast, no_trash, nothing_written
):
    ticket = _open(cast)[0]

    with nothing_written(), pytest.raises(Conflict) as refused:
        services.ticket_delete(actor=cast.agent_a, ticket=ticket)

    assert refused.value.code == "no_trash_status" and refused.value.status == 409
    assert services.trash_status() is None
    assert _unchanged(ticket)


def test_without_a_deleted_status_strangers_still_get_their_own_refusal(
    cast, no_trash, nothing_written
):
    ticket = _open(cast)[0]
    limited = AgentFactory(username="lim", department=cast.dept_a, role=role("Limited Access"))

    with nothing_written(), pytest.raises(NotVisible) as refusal:
        services.ticket_delete(actor=cast.agent_b, ticket=ticket)
    assert refusal.value.code == "ticket_not_found"
    with nothing_written(), pytest.raises(PermissionRefused) as refusal2:
        services.ticket_delete(actor=limited, ticket=ticket)
    assert refusal2.value.code == "permission_denied"
    with nothing_written(), pytest.raises(PermissionRefused) as refusal3:
        services.ticket_delete(actor=cast.alice, ticket=ticket)
    assert refusal3.value.code == "permission_denied"
    assert _unchanged(ticket)


def test_the_panel_button_moves_to_the_trash(cast):
    ticket = _open(cast)[0]

    response = signed_in(cast.agent_a).post(f"/scp/tickets/{ticket.number}/delete/")

    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).state == State.DELETED


def test_the_panel_button_without_a_deleted_status_says_why(cast, no_trash, nothing_written):
    ticket = _open(cast)[0]

    as_agent_a = signed_in(cast.agent_a)
    with nothing_written():
        response = as_agent_a.post(f"/scp/tickets/{ticket.number}/delete/")

    assert response.status_code == 409
    assert "No deleted status is configured" in response.content.decode()
    assert _unchanged(ticket)


def test_bulk_delete_moves_every_ticket_to_the_trash(cast):
    tickets = _open(cast, 3)
    client = signed_in(cast.agent_a)

    response = client.post(
        "/scp/queues/bulk/", {"action": "delete", "tickets": [t.number for t in tickets]}
    )

    assert response.status_code == 302
    assert set(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("state", flat=True)
    ) == {State.DELETED}
    assert "3 ticket(s) updated." in client.get("/scp/").content.decode()


def test_bulk_delete_without_a_deleted_status_says_so_once_and_changes_nothing(
    cast, no_trash, nothing_written
):
    tickets = _open(cast, 3)
    client = signed_in(cast.agent_a)

    with nothing_written():
        response = client.post(
            "/scp/queues/bulk/",
            {
                "action": "delete",
                "tickets": [t.number for t in tickets],
                "next": "/scp/queues/open/",
            },
        )

    assert response.status_code == 302 and response["Location"] == "/scp/queues/open/"
    page = client.get("/scp/queues/open/").content.decode()
    assert page.count("No deleted status is configured") == 1
    assert "updated." not in page
    assert all(_unchanged(t) for t in tickets)
