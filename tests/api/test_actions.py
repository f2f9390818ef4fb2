"""Ticket actions through the API: each one service call, with the permission matrix,
state conflicts (409), stale versions (412), and nothing changed on a refusal."""

import contextlib
import datetime as dt

import pytest
from django.utils import timezone

from threads.models import Collaborator, Referral, ThreadEvent
from tickets.models import State, Ticket, TicketLink

from ..factories import AgentFactory, TeamFactory, open_ticket, priority, role, status
from .conftest import problem


def events(ticket):
    return list(
        ThreadEvent.objects.filter(thread_id=ticket.thread_id).values_list("kind", flat=True)
    )


def url(ticket, action=""):
    return f"/api/v1/tickets/{ticket.number}/{action}"


def test_assign_to_an_agent(api, cast, ticket_a):
    response = api.agent(cast.agent_a).post(
        url(ticket_a, "assign/"), {"agent": cast.manager_a.pk, "comment": "yours"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == cast.manager_a.pk
    ticket_a.refresh_from_db()
    assert ticket_a.assignee == cast.manager_a
    event = ThreadEvent.objects.get(thread_id=ticket_a.thread_id, kind="assigned")
    assert event.channel == "api" and event.data["comment"] == "yours"


def test_assign_without_anyone_is_a_422(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(url(ticket_a, "assign/"), {}, format="json")

    assert response.status_code == 422
    assert problem(response)["code"] == "no_assignee"
    assert events(ticket_a) == ["created"]


@pytest.mark.parametrize(
    ("role_name", "action", "body", "allowed"),
    [
        ("View only", "assign/", "agent", False),
        ("Limited Access", "assign/", "agent", True),
        ("View only", "transfer/", "dept_b", False),
        ("Limited Access", "transfer/", "dept_b", True),
        ("Limited Access", "priority/", "high", False),
        ("Expanded Access", "priority/", "high", True),
        ("Expanded Access", "answered/", "answered", False),
        ("All Access", "answered/", "answered", True),
        ("Limited Access", "status/", "resolved", False),
        ("Expanded Access", "status/", "resolved", True),
        ("Limited Access", "due-date/", "due", False),
        ("Expanded Access", "due-date/", "due", True),
    ],
)
def test_the_permission_matrix_through_the_api(
    api, cast, ticket_a, role_name, action, body, allowed, nothing_written
):
    agent = AgentFactory(department=cast.dept_a, role=role(role_name))
    bodies = {
        "agent": {"agent": cast.agent_a.pk},
        "dept_b": {"department": cast.dept_b.pk},
        "high": {"priority": priority("High").pk},
        "answered": {"answered": True},
        "resolved": {"status": status("Resolved").pk},
        "due": {"due_at": (timezone.now() + dt.timedelta(days=1)).isoformat()},
    }

    client = api.agent(agent)
    with contextlib.nullcontext() if allowed else nothing_written():
        response = client.post(url(ticket_a, action), bodies[body], format="json")

    if allowed:
        assert response.status_code == 200, response.content
        # closing an unassigned ticket also gives it to the closer, who is referred
        closing = ["assigned", "referred"] if action == "status/" else []
        assert len(events(ticket_a)) == 2 + len(closing)
        assert events(ticket_a)[2:] == closing
    else:
        assert response.status_code == 403
        assert problem(response)["code"] == "permission_denied"
        assert events(ticket_a) == ["created"]
        assert Ticket.objects.get(pk=ticket_a.pk).version == 1


def test_claim_then_a_second_claim_conflicts(api, cast, ticket_a, nothing_written):
    first = api.agent(cast.agent_a).post(url(ticket_a, "claim/"))
    client = api.agent(cast.manager_a)
    with nothing_written():
        second = client.post(url(ticket_a, "claim/"))

    assert first.status_code == 200
    assert second.status_code == 409
    assert problem(second)["code"] == "already_assigned"
    ticket_a.refresh_from_db()
    assert ticket_a.assignee == cast.agent_a


def test_release(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    client.post(url(ticket_a, "claim/"))

    response = client.post(url(ticket_a, "release/"), {}, format="json")
    with nothing_written():
        again = client.post(url(ticket_a, "release/"), {}, format="json")

    assert response.status_code == 200 and response.json()["assignee"] is None
    assert again.status_code == 409
    assert problem(again)["code"] == "not_assigned"


def test_transfer_and_the_ticket_leaves_the_agents_sight(api, cast, ticket_a):
    client = api.agent(cast.agent_a)

    response = client.post(
        url(ticket_a, "transfer/"), {"department": cast.dept_b.pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["department"]["name"] == "Billing"
    assert client.get(url(ticket_a)).status_code == 404
    assert api.agent(cast.agent_b).get(url(ticket_a)).status_code == 200


def test_transfer_to_an_unknown_department_is_a_422(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(url(ticket_a, "transfer/"), {"department": 987654}, format="json")

    assert response.status_code == 422
    assert list(problem(response)["errors"]) == ["department"]


def test_refer_gives_sight_without_transfer(api, cast, ticket_a):
    response = api.agent(cast.agent_a).post(
        url(ticket_a, "refer/"), {"department": cast.dept_b.pk}, format="json"
    )

    assert response.status_code == 200
    assert Referral.objects.filter(thread_id=ticket_a.thread_id, department=cast.dept_b).exists()
    assert api.agent(cast.agent_b).get(url(ticket_a)).status_code == 200


def test_status_transition_not_allowed_is_a_409(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            url(ticket_a, "status/"), {"status": status("Archived").pk}, format="json"
        )

    assert response.status_code == 409
    assert problem(response)["code"] == "transition_not_allowed"
    assert Ticket.objects.get(pk=ticket_a.pk).state == State.OPEN


def test_an_action_with_a_stale_if_match_is_a_412(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    client.post(url(ticket_a, "priority/"), {"priority": priority("High").pk}, format="json")

    with nothing_written():
        response = client.post(
            url(ticket_a, "assign/"), {"agent": cast.agent_a.pk}, format="json", HTTP_IF_MATCH='"1"'
        )

    assert response.status_code == 412
    assert problem(response)["code"] == "stale_version"
    assert Ticket.objects.get(pk=ticket_a.pk).assignee is None
    assert events(ticket_a) == ["created", "priority_changed"]


def test_if_match_star_and_current_version_pass(api, cast, ticket_a):
    client = api.agent(cast.agent_a)

    star = client.post(url(ticket_a, "claim/"), HTTP_IF_MATCH="*")
    current = client.post(url(ticket_a, "release/"), {}, format="json", HTTP_IF_MATCH='W/"2"')

    assert (star.status_code, current.status_code) == (200, 200)


def test_merge_and_link_other_tickets(api, cast, ticket_a):
    other = open_ticket(cast.alice, department=cast.dept_a, subject="Dup")
    third = open_ticket(cast.alice, department=cast.dept_a, subject="Related")
    client = api.agent(cast.agent_a)

    merged = client.post(url(ticket_a, "merge/"), {"sources": [other.number]}, format="json")
    linked = client.post(url(ticket_a, "links/"), {"ticket": third.number}, format="json")
    listed = client.get(url(ticket_a, "links/"))

    assert merged.status_code == 200 and linked.status_code == 200
    other.refresh_from_db()
    assert other.merged_into_id == ticket_a.pk and other.state == State.CLOSED
    assert {t["number"] for t in listed.json()} == {other.number, third.number}
    unlinked = client.delete(url(ticket_a, f"links/{third.number}/"))
    assert unlinked.status_code == 200
    assert not TicketLink.objects.filter(low_id__in=[third.pk], high_id__in=[ticket_a.pk]).exists()
    assert not TicketLink.objects.filter(low_id=ticket_a.pk, high_id=third.pk).exists()


def test_merging_an_invisible_ticket_is_refused_as_not_found(
    api, cast, ticket_a, ticket_b, nothing_written
):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            url(ticket_a, "merge/"), {"sources": [ticket_b.number]}, format="json"
        )

    assert response.status_code == 422
    assert problem(response)["errors"] == {"sources": [f"Ticket {ticket_b.number} not found."]}
    assert Ticket.objects.get(pk=ticket_b.pk).merged_into is None


def test_collaborators_add_list_remove(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)

    added = client.post(url(ticket_a, "collaborators/"), {"user": cast.bob.pk}, format="json")
    listed = client.get(url(ticket_a, "collaborators/"))
    removed = client.delete(url(ticket_a, f"collaborators/{cast.bob.pk}/"))
    with nothing_written():
        missing = client.delete(url(ticket_a, f"collaborators/{cast.bob.pk}/"))

    assert added.status_code == 200
    assert [c["user"]["email"] for c in listed.json()] == ["bob@globex.test"]
    assert removed.status_code == 200
    assert missing.status_code == 404
    assert problem(missing)["code"] == "not_collaborator"
    assert not Collaborator.objects.filter(thread_id=ticket_a.thread_id).exists()


def test_a_client_cannot_add_collaborators(api, cast, ticket_a, nothing_written):
    client = api.client_user(cast.alice)
    with nothing_written():
        response = client.post(
            url(ticket_a, "collaborators/"), {"user": cast.bob.pk}, format="json"
        )

    assert response.status_code == 403
    assert problem(response)["code"] == "permission_denied"
    assert not Collaborator.objects.exists()


def test_a_key_changes_only_tickets_of_its_write_departments(api, cast, ticket_a, nothing_written):
    reader = api.key(read=[cast.dept_a])
    writer = api.key(write=[cast.dept_a])
    body = {"priority": priority("High").pk}

    with nothing_written():
        refused = reader.post(url(ticket_a, "priority/"), body, format="json")
    done = writer.post(url(ticket_a, "priority/"), body, format="json")
    with nothing_written():
        out_of_scope = writer.post(
            url(ticket_a, "transfer/"), {"department": cast.dept_b.pk}, format="json"
        )

    assert refused.status_code == 403
    assert problem(refused)["detail"] == (
        "This API key's scope in Support does not allow ticket.edit."
    )
    assert done.status_code == 200
    assert out_of_scope.status_code == 403
    assert problem(out_of_scope)["detail"] == (
        "This API key's scope in Billing does not allow ticket.transfer."
    )
    ticket_a.refresh_from_db()
    assert ticket_a.priority.name == "High" and ticket_a.department == cast.dept_a


def test_assign_to_a_team(api, cast, ticket_a):
    team = TeamFactory(members=[cast.agent_a])

    response = api.agent(cast.agent_a).post(
        url(ticket_a, "assign/"), {"team": team.pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["team"] == {"id": team.pk, "name": team.name}
