"""/api/v1/tickets/: list, retrieve, create, partial update, and who sees what."""

import base64
import datetime as dt

from django.utils import timezone

from accounts.models import User
from helpdesk.api.serializers import (
    FlatRef,
    PersonRefSerializer,
    RefSerializer,
    StatusRefSerializer,
    TicketSerializer,
    TopicRefSerializer,
)
from threads.models import ThreadEntry, ThreadEvent
from tickets.models import State, Ticket

from ..factories import AgentFactory, TopicFactory, open_ticket, priority, role, status
from .conftest import problem


def numbers(response):
    return [t["number"] for t in response.json()["results"]]


# --- visibility -------------------------------------------------------------------------


def test_agents_list_the_tickets_of_their_departments(api, cast, ticket_a, ticket_b):
    assert numbers(api.agent(cast.agent_a).get("/api/v1/tickets/")) == [ticket_a.number]
    assert numbers(api.agent(cast.agent_b).get("/api/v1/tickets/")) == [ticket_b.number]
    assert set(numbers(api.agent(cast.admin).get("/api/v1/tickets/"))) == {
        ticket_a.number,
        ticket_b.number,
    }


def test_a_ticket_of_another_department_is_a_404_not_a_403(api, cast, ticket_b, nothing_written):
    client = api.agent(cast.agent_a)

    with nothing_written():
        for method, path in [
            ("get", ""),
            ("patch", ""),
            ("post", "assign/"),
            ("post", "claim/"),
            ("get", "entries/"),
            ("post", "entries/"),
            ("get", "events/"),
        ]:
            response = getattr(client, method)(
                f"/api/v1/tickets/{ticket_b.number}/{path}", {}, format="json"
            )
            assert response.status_code == 404, (method, path)
            assert problem(response)["detail"] == "Ticket not found."
    missing = client.get("/api/v1/tickets/000000/")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "Ticket not found."
    assert ThreadEvent.objects.filter(thread_id=ticket_b.thread_id).count() == 1


def test_clients_see_their_own_and_shared_organization_tickets_only(api, cast, ticket_a, ticket_b):
    colleague = open_ticket(cast.alice_colleague, department=cast.dept_a, subject="Shared")

    alice = api.client_user(cast.alice)
    bob = api.client_user(cast.bob)

    assert set(numbers(alice.get("/api/v1/tickets/"))) == {ticket_a.number, colleague.number}
    assert numbers(bob.get("/api/v1/tickets/")) == [ticket_b.number]
    assert bob.get(f"/api/v1/tickets/{ticket_a.number}/").status_code == 404
    assert api.client_user(cast.stranger).get("/api/v1/tickets/").json()["results"] == []


def test_an_api_key_sees_only_its_departments(api, cast, ticket_a, ticket_b):
    client = api.key(read=[cast.dept_a])

    assert numbers(client.get("/api/v1/tickets/")) == [ticket_a.number]
    assert client.get(f"/api/v1/tickets/{ticket_b.number}/").status_code == 404


def test_retrieve_carries_the_version_as_etag(api, cast, ticket_a):
    response = api.agent(cast.agent_a).get(f"/api/v1/tickets/{ticket_a.number}/")

    body = response.json()
    assert response["ETag"] == '"1"'
    assert body["version"] == 1
    assert body["subject"] == "VPN down"
    assert body["status"] == {"id": ticket_a.status_id, "name": "Open", "state": "open"}
    assert body["department"] == {"id": cast.dept_a.pk, "name": "Support"}
    assert body["requester"]["email"] == "alice@acme.test"
    assert body["url"].endswith(f"/api/v1/tickets/{ticket_a.number}/")


# --- create -----------------------------------------------------------------------------


def test_ticket_fields_are_built_once_and_never_shared(cast, ticket_a, ticket_b):
    first, second = TicketSerializer(ticket_a), TicketSerializer(ticket_b)
    assert first.fields["status"] is not second.fields["status"]
    assert first.fields["status"].parent is first and second.fields["status"].parent is second
    assert "_fields_built" in TicketSerializer.__dict__
    assert first.data["number"] == ticket_a.number and second.data["number"] == ticket_b.number
    assert first.data["department"] == {"id": cast.dept_a.pk, "name": "Support"}
    assert set(first.data) == set(TicketSerializer.Meta.fields)


def test_flat_references_answer_what_drf_would(cast, ticket_a):
    from rest_framework import serializers as drf

    ticket_a.topic = TopicFactory(name="VPN", parent=TopicFactory(name="Network"))
    cases = [
        (RefSerializer, ticket_a.department),
        (StatusRefSerializer, ticket_a.status),
        (PersonRefSerializer, ticket_a.requester),
        (PersonRefSerializer, cast.agent_a),
        (TopicRefSerializer, ticket_a.topic),
    ]
    for serializer_class, obj in cases:
        ours = serializer_class(obj).data
        generic = drf.Serializer.to_representation(serializer_class(obj), obj)
        assert dict(ours) == dict(generic), serializer_class
    assert TopicRefSerializer(ticket_a.topic).data["name"] == "Network / VPN"

    class Unusual(FlatRef, drf.Serializer):  # a field it cannot answer: DRF's own path
        id = drf.IntegerField(source="pk", read_only=True)
        open = drf.BooleanField(source="status.state", read_only=True)

    assert dict(Unusual(ticket_a).data) == {"id": ticket_a.pk, "open": True}


def test_an_agent_opens_a_ticket_for_a_new_requester(api, cast):
    cast.agent_a.permissions = ["user.create"]
    cast.agent_a.save()
    response = api.agent(cast.agent_a).post(
        "/api/v1/tickets/",
        {
            "subject": "Phone call",
            "body": "Called about the VPN.",
            "requester_email": "New.Person@Example.com",
            "requester_name": "New Person",
            "department": cast.dept_a.pk,
            "priority": priority("High").pk,
            "source": "phone",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(number=response.json()["number"])
    assert response["Location"] == f"/api/v1/tickets/{ticket.number}/"
    assert response["ETag"] == '"1"'
    assert ticket.requester.email == "new.person@example.com"
    assert ticket.requester.name == "New Person"
    assert ticket.priority.name == "High" and ticket.source == "phone"
    created = ThreadEvent.objects.get(thread_id=ticket.thread_id, kind="created")
    assert created.channel == "api" and created.actor == cast.agent_a


def test_a_client_opens_a_ticket_for_themselves_with_a_base64_attachment(api, cast):
    response = api.client_user(cast.bob).post(
        "/api/v1/tickets/",
        {
            "subject": "Broken",
            "department": cast.dept_b.pk,
            "body": "<p>Help <script>x()</script></p>",
            "format": "html",
            "attachments": [
                {
                    "filename": "log.txt",
                    "content_type": "text/plain",
                    "content": base64.b64encode(b"line 1").decode(),
                }
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(number=response.json()["number"])
    entry = ticket.thread.entries.get()
    assert ticket.requester == cast.bob
    assert "<script>" not in entry.body_html and "Help" in entry.body_html
    assert [a.filename for a in entry.attachments.all()] == ["log.txt"]
    assert entry.attachments.get().file.file.read() == b"line 1"


def test_a_client_cannot_open_a_ticket_for_someone_else(api, cast, nothing_written):
    client = api.client_user(cast.bob)
    with nothing_written():
        response = client.post(
            "/api/v1/tickets/",
            {"subject": "x", "body": "y", "requester": cast.alice.pk, "department": cast.dept_a.pk},
            format="json",
        )

    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_create_with_missing_fields_is_a_422_naming_them_and_creates_nothing(
    api, cast, nothing_written
):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post("/api/v1/tickets/", {"requester_email": "x@y.test"}, format="json")

    body = problem(response)
    assert response.status_code == 422
    assert body["errors"] == {
        "subject": ["This field is required."],
        "body": ["This field is required."],
    }
    assert not Ticket.objects.exists()
    assert not User.objects.filter(email="x@y.test").exists()


def test_a_refused_ticket_does_not_leave_a_new_requester_behind(api, cast, nothing_written):
    viewer = AgentFactory(
        department=cast.dept_a, role=role("View only"), permissions=["user.create"]
    )

    client = api.agent(viewer)
    with nothing_written():
        response = client.post(
            "/api/v1/tickets/",
            {
                "subject": "s",
                "body": "b",
                "requester_email": "ghost@x.test",
                "department": cast.dept_a.pk,
            },
            format="json",
        )

    assert response.status_code == 403
    assert problem(response)["detail"] == "Your role in Support does not allow ticket.create."
    assert not User.objects.filter(email="ghost@x.test").exists()
    assert not Ticket.objects.exists()


def test_malformed_json_is_a_400(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            "/api/v1/tickets/", data='{"subject": ', content_type="application/json"
        )

    assert response.status_code == 400
    assert problem(response)["code"] == "malformed"


def test_a_lone_surrogate_in_json_is_a_400_not_a_500(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            "/api/v1/tickets/",
            data='{"subject": "\\ud800", "body": "b", "requester": 1}',
            content_type="application/json",
        )

    assert response.status_code == 400
    assert problem(response)["code"] == "malformed"


def test_a_wrong_content_type_is_a_415(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post("/api/v1/tickets/", data="subject,body", content_type="text/csv")

    assert response.status_code == 415
    assert problem(response)["code"] == "unsupported_media_type"


def test_a_body_over_the_limit_is_a_413(api, cast, settings, nothing_written):
    settings.HELPDESK_API = {**settings.HELPDESK_API, "MAX_BODY_BYTES": 100}

    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            "/api/v1/tickets/", {"subject": "x" * 200, "body": "b"}, format="json"
        )

    assert response.status_code == 413
    assert problem(response)["code"] == "request_too_large"


def test_an_oversize_attachment_is_a_400_naming_the_file(api, cast, settings, nothing_written):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 4}

    client = api.client_user(cast.bob)
    with nothing_written():
        response = client.post(
            "/api/v1/tickets/",
            {
                "subject": "s",
                "body": "b",
                "department": cast.dept_b.pk,
                "attachments": [
                    {"filename": "a.bin", "content": base64.b64encode(b"12345").decode()}
                ],
            },
            format="json",
        )

    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "attachment_too_large"
    assert body["errors"] == {"attachments": ["Attachments over 4 bytes are refused: a.bin."]}
    assert not Ticket.objects.exists()


def test_a_key_needs_the_create_capability_and_its_department(api, cast, nothing_written):
    body = {
        "subject": "s",
        "body": "b",
        "requester_email": "n@x.test",
        "department": cast.dept_a.pk,
    }

    without_capability = api.key(write=[cast.dept_a])
    other_department = api.key(write=[cast.dept_b], can_create_tickets=True)

    with nothing_written():
        no_cap = without_capability.post("/api/v1/tickets/", body, format="json")
        other_dept = other_department.post("/api/v1/tickets/", body, format="json")
    ok = api.key(write=[cast.dept_a], can_create_tickets=True).post(
        "/api/v1/tickets/", body, format="json"
    )

    assert (no_cap.status_code, other_dept.status_code, ok.status_code) == (403, 403, 201)
    assert problem(no_cap)["code"] == problem(other_dept)["code"] == "permission_denied"
    assert Ticket.objects.count() == 1
    event = ThreadEvent.objects.get(kind="created")
    assert event.actor is None and event.actor_label == "API key integration"


# --- partial update -----------------------------------------------------------------------


def test_patch_changes_several_fields_in_one_transaction(api, cast, ticket_a):
    due = timezone.now() + dt.timedelta(days=2)
    response = api.agent(cast.agent_a).patch(
        f"/api/v1/tickets/{ticket_a.number}/",
        {"subject": "VPN still down", "priority": priority("High").pk, "due_at": due.isoformat()},
        format="json",
    )

    assert response.status_code == 200, response.content
    ticket_a.refresh_from_db()
    assert ticket_a.subject == "VPN still down"
    assert ticket_a.priority.name == "High"
    assert ticket_a.due_at == due
    assert response["ETag"] == f'"{ticket_a.version}"' == '"4"'
    kinds = list(
        ThreadEvent.objects.filter(thread_id=ticket_a.thread_id).values_list("kind", flat=True)
    )
    assert kinds == ["created", "edited", "priority_changed", "due_date_changed"]


def test_patch_is_all_or_nothing(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.patch(
            f"/api/v1/tickets/{ticket_a.number}/",
            {"subject": "Changed", "status": status("Archived").pk},
            format="json",
        )

    assert response.status_code == 409
    assert problem(response)["code"] == "transition_not_allowed"
    ticket_a.refresh_from_db()
    assert ticket_a.subject == "VPN down" and ticket_a.version == 1
    assert ThreadEvent.objects.filter(thread_id=ticket_a.thread_id).count() == 1


def test_patch_with_a_stale_if_match_is_a_412_and_changes_nothing(
    api, cast, ticket_a, nothing_written
):
    client = api.agent(cast.agent_a)
    url = f"/api/v1/tickets/{ticket_a.number}/"
    client.patch(url, {"subject": "First"}, format="json")

    with nothing_written():
        response = client.patch(url, {"subject": "Second"}, format="json", HTTP_IF_MATCH='"1"')

    assert response.status_code == 412
    assert problem(response)["code"] == "stale_version"
    ticket_a.refresh_from_db()
    assert ticket_a.subject == "First" and ticket_a.version == 2
    current = client.patch(url, {"subject": "Second"}, format="json", HTTP_IF_MATCH='"2"')
    assert current.status_code == 200 and current["ETag"] == '"3"'


def test_patch_with_an_unknown_priority_is_a_422(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.patch(
            f"/api/v1/tickets/{ticket_a.number}/", {"priority": 999999}, format="json"
        )

    assert response.status_code == 422
    assert list(problem(response)["errors"]) == ["priority"]


def test_an_empty_patch_is_a_422(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.patch(f"/api/v1/tickets/{ticket_a.number}/", {}, format="json")

    assert response.status_code == 422
    assert problem(response)["errors"] == {
        "non_field_errors": ["Give at least one field to change."]
    }


def test_a_client_cannot_patch(api, cast, ticket_a, nothing_written):
    client = api.client_user(cast.alice)
    with nothing_written():
        response = client.patch(
            f"/api/v1/tickets/{ticket_a.number}/", {"subject": "Mine now"}, format="json"
        )

    assert response.status_code == 403
    assert problem(response)["code"] == "permission_denied"
    ticket_a.refresh_from_db()
    assert ticket_a.subject == "VPN down"


def test_a_client_closes_their_own_ticket(api, cast, ticket_a):
    response = api.client_user(cast.alice).post(
        f"/api/v1/tickets/{ticket_a.number}/status/",
        {"status": status("Resolved").pk},
        format="json",
    )

    assert response.status_code == 200
    ticket_a.refresh_from_db()
    assert ticket_a.state == State.CLOSED


def test_entries_of_a_merged_thread_and_unknown_routes_are_404_problems(api, cast):
    response = api.agent(cast.agent_a).get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"


def test_html_bodies_are_sanitised_in_entries(api, cast, ticket_a):
    api.agent(cast.agent_a).post(
        f"/api/v1/tickets/{ticket_a.number}/entries/",
        {"kind": "note", "body": '<a href="javascript:x()">x</a><b>bold</b>', "format": "html"},
        format="json",
    )

    entry = ThreadEntry.objects.filter(kind="note").get()
    assert "javascript" not in entry.body_html and "<b>bold</b>" in entry.body_html


def test_clients_get_what_the_portal_shows_them_and_no_agent_internals(api, cast, ticket_a):
    """The audit's finding: a client's API view carried the assignee's and responders'
    addresses and agent-only fields."""
    from tickets import services

    services.ticket_assign(actor=cast.admin, ticket=ticket_a, agent=cast.agent_a)
    services.ticket_add_collaborator(actor=cast.admin, ticket=ticket_a, user=cast.bob)
    services.ticket_post_reply(actor=cast.agent_a, ticket=ticket_a, body="On it.")
    alice = api.client_user(cast.alice)

    ticket = alice.get(f"/api/v1/tickets/{ticket_a.number}/").json()
    assert not {"assignee", "team", "sla", "due_at", "sla_due_at", "is_overdue", "source"} & set(
        ticket
    )
    assert ticket["status"]["name"] == "Open" and ticket["requester"]["email"] == cast.alice.email

    entries = alice.get(f"/api/v1/tickets/{ticket_a.number}/entries/").json()
    rows = entries["results"] if isinstance(entries, dict) else entries
    reply = next(e for e in rows if e["kind"] == "response")
    assert reply["poster"] == {"name": cast.agent_a.display_name}
    assert cast.agent_a.email not in str(entries)

    people = alice.get(f"/api/v1/tickets/{ticket_a.number}/collaborators/").json()
    assert people[0]["user"] == {"name": cast.bob.display_name}

    agent_view = api.agent(cast.agent_a).get(f"/api/v1/tickets/{ticket_a.number}/").json()
    assert agent_view["assignee"]["email"] == cast.agent_a.email
