"""An API key's department scope through the API: the services decide it (there is no
second check in the views), so the answers are the services' refusals: 403 with a
problem for what the key may read but not write or open, 404 for what it may not read,
and nothing written either way."""

import pytest

from routing.models import FilterAction, FilterRule, TicketFilter
from tickets.models import HelpdeskSettings, Ticket

from ..factories import TopicFactory, attachment, open_ticket, status
from .conftest import problem

TICKETS = "/api/v1/tickets/"


def body(**extra):
    return {
        "subject": "Order 42",
        "body": "Where is it?",
        "requester_email": "new.customer@example.test",
        "requester_name": "New Customer",
        **extra,
    }


# --- opening ----------------------------------------------------------------------------


def test_a_topic_routing_outside_the_keys_scope_is_a_403_and_writes_nothing(
    api, cast, nothing_written
):
    billing = TopicFactory(department=cast.dept_b)
    shop = api.key(write=[cast.dept_a], can_create_tickets=True)

    with nothing_written():  # not even the new requester
        response = shop.post(TICKETS, body(topic=billing.pk), format="json")

    assert response.status_code == 403
    assert problem(response)["detail"] == (
        "This API key's scope in Billing does not allow ticket.create."
    )


def test_a_filter_routing_outside_the_keys_scope_is_a_403_and_writes_nothing(
    api, cast, nothing_written
):
    flt = TicketFilter.objects.create(name="Orders to billing")
    FilterRule.objects.create(filter=flt, field="subject", operator="contains", value="order")
    FilterAction.objects.create(filter=flt, kind="department", department=cast.dept_b)
    shop = api.key(write=[cast.dept_a], can_create_tickets=True)

    with nothing_written():
        response = shop.post(TICKETS, body(department=cast.dept_a.pk), format="json")

    assert response.status_code == 403 and problem(response)["code"] == "permission_denied"


def test_the_same_key_opens_in_its_department(api, cast):
    shop = api.key(write=[cast.dept_a], can_create_tickets=True)

    response = shop.post(TICKETS, body(department=cast.dept_a.pk), format="json")

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(number=response.json()["number"])
    assert ticket.department == cast.dept_a
    assert ticket.requester.email == "new.customer@example.test"


def test_a_key_without_the_capability_is_a_403_and_writes_nothing(api, cast, nothing_written):
    shop = api.key(write=[cast.dept_a])

    with nothing_written():
        response = shop.post(TICKETS, body(department=cast.dept_a.pk), format="json")

    assert response.status_code == 403
    assert problem(response)["detail"] == "This API key may not create tickets."


def test_the_osticket_endpoint_keeps_to_the_keys_scope(api, cast, client, nothing_written):
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_b
    config.save()
    shop = api.key(write=[cast.dept_a], can_create_tickets=True)

    with nothing_written():
        response = client.post(
            "/api/tickets.json",
            {"email": "x@example.test", "name": "X", "subject": "s", "message": "m"},
            content_type="application/json",
            HTTP_X_API_KEY=shop.secret,
        )

    assert response.status_code == 403
    assert response.content.decode() == (
        "Unable to create new ticket: This API key's scope in Billing does not allow ticket.create."
    )


# --- reading ----------------------------------------------------------------------------


@pytest.fixture
def billing_ticket(cast):
    ticket = open_ticket(
        cast.bob,
        department=cast.dept_b,
        subject="Invoice wrong",
        files=[attachment("invoice.txt", b"twice")],
    )
    return ticket


def test_tickets_outside_the_read_scope_are_404_everywhere(api, cast, ticket_a, billing_ticket):
    reader = api.key(read=[cast.dept_a])
    number = billing_ticket.number
    file_id = billing_ticket.thread.entries.get().attachments.get().pk

    listed = [t["number"] for t in reader.get(TICKETS).json()["results"]]
    searched = reader.get(TICKETS, {"q": "Invoice"}).json()["results"]
    by_number = reader.get(TICKETS, {"q": number}).json()["results"]

    assert listed == [ticket_a.number]
    assert searched == [] and by_number == []
    for path in ("", "entries/", "events/", "links/", "collaborators/"):
        response = reader.get(f"{TICKETS}{number}/{path}")
        assert response.status_code == 404, path
        assert problem(response)["code"] == "ticket_not_found"
    assert reader.get(f"/api/v1/attachments/{file_id}/").status_code == 404


# --- changing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,payload,refused",
    [
        ("entries/", {"kind": "reply", "body": "Shipped."}, "ticket.reply"),
        ("entries/", {"kind": "note", "body": "Called."}, "changes"),
        ("status/", {"status": "Closed"}, "ticket.close"),
        ("assign/", {"agent": "agent_a"}, "ticket.assign"),
    ],
)
def test_a_readable_ticket_outside_the_write_scope_is_a_403_and_unchanged(
    api, cast, ticket_a, path, payload, refused, nothing_written
):
    reader = api.key(read=[cast.dept_a], write=[cast.dept_b])
    payload = {
        **payload,
        **({"status": status(payload["status"]).pk} if "status" in payload else {}),
        **({"agent": cast.agent_a.pk} if "agent" in payload else {}),
    }
    version = ticket_a.version

    with nothing_written():
        response = reader.post(f"{TICKETS}{ticket_a.number}/{path}", payload, format="json")

    assert response.status_code == 403, response.content
    assert problem(response)["detail"] == (
        f"This API key's scope in Support does not allow {refused}."
    )
    ticket_a.refresh_from_db()
    assert ticket_a.version == version and ticket_a.state == "open"
    assert ticket_a.assignee is None


# --- beyond tickets -----------------------------------------------------------------------


def test_a_key_is_not_the_system_for_the_directory_either(api, cast, nothing_written):
    """It passed as the system in accounts.services, so it could create organizations
    (org.create), which the API documents for agents only."""
    from accounts.models import Organization

    before = Organization.objects.count()

    client = api.key(write=[cast.dept_a])
    with nothing_written():
        response = client.post("/api/v1/organizations/", {"name": "Initech"}, format="json")

    assert response.status_code == 403 and problem(response)["code"] == "permission_denied"
    assert Organization.objects.count() == before
