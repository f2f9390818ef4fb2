"""Merge modes, unmerge and split through the API: one service call each, problems on
refusal, nothing written."""

from threads.models import Collaborator, ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import State, Ticket, TicketLink

from ..factories import AgentFactory, attachment, open_ticket, status
from .conftest import problem


def url(ticket, action=""):
    return f"/api/v1/tickets/{ticket.number}/{action}"


def test_merge_with_mode_participants_and_statuses(api, cast, ticket_a):
    dup = open_ticket(cast.bob, department=cast.dept_a, subject="Dup")
    services.ticket_add_collaborator(actor=cast.admin, ticket=dup, user=cast.stranger)

    response = api.agent(cast.agent_a).post(
        url(ticket_a, "merge/"),
        {
            "sources": [dup.number],
            "mode": "separate",
            "participants": "requesters",
            "child_status": status("Resolved").pk,
            "parent_status": status("Resolved").pk,
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"]["name"] == "Resolved"
    child = api.agent(cast.agent_a).get(url(dup)).json()
    assert (child["merged_into"], child["merge_mode"], child["status"]["name"]) == (
        ticket_a.number,
        "separate",
        "Resolved",
    )
    assert set(
        Collaborator.objects.filter(thread_id=ticket_a.thread_id).values_list("user", flat=True)
    ) == {cast.bob.pk}


def test_link_mode_with_a_child_status_is_a_422_that_writes_nothing(
    api, cast, ticket_a, nothing_written
):
    dup = open_ticket(cast.bob, department=cast.dept_a, subject="Dup")

    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            url(ticket_a, "merge/"),
            {"sources": [dup.number], "mode": "link", "child_status": status("Resolved").pk},
            format="json",
        )

    assert response.status_code == 422
    body = problem(response)
    assert body["code"] == "invalid_merge_options"
    assert body["errors"] == {"child_status": ["Not used when linking."]}


def test_merging_into_its_own_child_is_a_409(api, cast, ticket_a, nothing_written):
    dup = open_ticket(cast.bob, department=cast.dept_a, subject="Dup")
    services.ticket_merge(actor=cast.agent_a, ticket=ticket_a, sources=[dup])

    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(url(dup, "merge/"), {"sources": [ticket_a.number]}, format="json")

    assert response.status_code == 409 and problem(response)["code"] == "merge_into_child"


def test_unmerge_restores_the_child(api, cast, ticket_a):
    dup = open_ticket(cast.bob, department=cast.dept_a, subject="Dup")
    services.ticket_merge(actor=cast.agent_a, ticket=ticket_a, sources=[dup], mode="link")

    response = api.agent(cast.agent_a).post(url(dup, "unmerge/"), {}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["merged_into"], body["merge_mode"], body["state"]) == (None, "", State.OPEN)
    assert response["ETag"] == f'"{body["version"]}"'
    assert not TicketLink.objects.exists()


def test_unmerge_of_a_ticket_not_merged_is_a_409_and_writes_nothing(
    api, cast, ticket_a, nothing_written
):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(url(ticket_a, "unmerge/"), {}, format="json")

    assert response.status_code == 409 and problem(response)["code"] == "not_merged"


def test_unmerge_of_an_invisible_ticket_is_a_404(api, cast, ticket_a, nothing_written):
    dup = open_ticket(cast.bob, department=cast.dept_a, subject="Dup")
    services.ticket_merge(actor=cast.agent_a, ticket=ticket_a, sources=[dup])

    client = api.agent(cast.agent_b)
    with nothing_written():
        response = client.post(url(dup, "unmerge/"), {}, format="json")

    assert response.status_code == 404
    assert problem(response)["code"] == "ticket_not_found"


def test_split_answers_201_with_the_new_ticket(api, cast, ticket_a):
    entry = services.ticket_post_message(
        actor=cast.alice, ticket=ticket_a, body="Also the mail.", files=[attachment()]
    ).entry

    response = api.agent(cast.agent_a).post(
        url(ticket_a, "split/"), {"entry": entry.pk, "subject": "Mail"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert response["Location"].endswith(f"/api/v1/tickets/{body['number']}/")
    assert (body["subject"], body["requester"]["id"]) == ("Mail", cast.alice.pk)
    new = Ticket.objects.get(number=body["number"])
    first = ThreadEntry.objects.get(thread_id=new.thread_id)
    assert first.body_text == "Also the mail." and first.attachments.count() == 1
    linked = api.agent(cast.agent_a).get(url(ticket_a, "links/")).json()
    assert [t["number"] for t in linked] == [new.number]
    split = ThreadEvent.objects.get(thread_id=ticket_a.thread_id, kind="split")
    assert split.channel == "api" and split.data["other"]["number"] == new.number


def test_split_refusals_write_nothing(api, cast, ticket_a, ticket_b, nothing_written):
    entry = ThreadEntry.objects.get(thread_id=ticket_a.thread_id)
    foreign = ThreadEntry.objects.get(thread_id=ticket_b.thread_id)
    note = services.ticket_post_note(actor=cast.agent_a, ticket=ticket_a, body="Internal").entry
    viewer = AgentFactory(department=cast.dept_a, extra_departments={cast.dept_b: "View only"})

    agent_b_client = api.agent(cast.agent_b)
    agent_a_client = api.agent(cast.agent_a)
    viewer_client = api.agent(viewer)
    alice_client = api.client_user(cast.alice)
    with nothing_written():
        invisible = agent_b_client.post(
            url(ticket_a, "split/"), {"entry": entry.pk, "subject": "x"}, format="json"
        )
        other_entry = agent_a_client.post(
            url(ticket_a, "split/"), {"entry": foreign.pk, "subject": "x"}, format="json"
        )
        no_create = viewer_client.post(
            url(ticket_a, "split/"),
            {"entry": entry.pk, "subject": "x", "department": cast.dept_b.pk},
            format="json",
        )
        from_client = alice_client.post(
            url(ticket_a, "split/"), {"entry": note.pk, "subject": "x"}, format="json"
        )
        no_subject = agent_a_client.post(
            url(ticket_a, "split/"), {"entry": entry.pk}, format="json"
        )

    assert invisible.status_code == 404
    assert problem(invisible)["code"] == "ticket_not_found"
    assert other_entry.status_code == 422 and problem(other_entry)["code"] == "entry_not_found"
    assert no_create.status_code == 403
    assert problem(no_create)["detail"] == "Your role in Billing does not allow ticket.create."
    assert from_client.status_code == 422  # a client never learns of a note
    assert problem(from_client) == problem(other_entry)  # as for another ticket's entry
    assert no_subject.status_code == 422
    assert problem(no_subject)["errors"] == {"subject": ["This field is required."]}


def test_an_api_key_splits_only_into_its_write_scope(api, cast, ticket_a, nothing_written):
    entry = ThreadEntry.objects.get(thread_id=ticket_a.thread_id)
    key = api.key(read=[cast.dept_a, cast.dept_b], write=[cast.dept_a], can_create_tickets=True)
    tickets = Ticket.objects.count()

    with nothing_written():
        outside = key.post(
            url(ticket_a, "split/"),
            {"entry": entry.pk, "subject": "x", "department": cast.dept_b.pk},
            format="json",
        )
    inside = key.post(url(ticket_a, "split/"), {"entry": entry.pk, "subject": "y"}, format="json")

    assert outside.status_code == 403
    assert problem(outside)["detail"] == (
        "This API key's scope in Billing does not allow ticket.create."
    )
    assert inside.status_code == 201
    assert Ticket.objects.count() == tickets + 1


def test_reopening_through_the_api_gives_the_ticket_back_to_its_last_respondent(
    api, cast, ticket_a
):
    cast.dept_a.claim_on_reply = False
    cast.dept_a.save()
    services.ticket_post_reply(actor=cast.manager_a, ticket=ticket_a, body="Fixed?")
    services.ticket_set_status(actor=cast.alice, ticket=ticket_a, status=status("Resolved"))
    assert Ticket.objects.get(pk=ticket_a.pk).assignee_id is None

    response = api.agent(cast.agent_a).post(
        url(ticket_a, "status/"), {"status": status("Open").pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == cast.manager_a.pk
    assigned = ThreadEvent.objects.filter(thread_id=ticket_a.thread_id, kind="assigned").get()
    assert (assigned.channel, assigned.data["reason"]) == ("api", "reopened")
