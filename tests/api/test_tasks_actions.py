"""Task actions through the API (close, reopen, assign, claim, release, transfer, the
thread), each one service call answered with the task as saved; and the ticket that
cannot close while its tasks are open (409 naming them), unless `close_tasks` says so."""

import base64

from accounts.models import Role
from threads.models import Attachment, ThreadEvent
from tickets.models import HelpdeskSettings, State, Task, TaskState, Ticket

from ..factories import AgentFactory, TeamFactory, role, status
from .conftest import new_task, nothing_written, problem


def url(task, path="") -> str:
    return f"/api/v1/tasks/{task.number}/{path}"


def kinds(thread_id) -> list[str]:
    rows = ThreadEvent.objects.filter(thread_id=thread_id).order_by("pk")
    return list(rows.values_list("kind", flat=True))


# --- close, reopen --------------------------------------------------------------------------


def test_close_and_reopen_with_comments(api, cast, ticket_a, task_a):
    client = api.agent(cast.agent_a)

    closed = client.post(url(task_a, "close/"), {"comment": "Arrived."}, format="json")
    reopened = client.post(url(task_a, "reopen/"), {"comment": "Wrong one."}, format="json")

    assert closed.status_code == reopened.status_code == 200
    assert closed.json()["state"] == "closed" and closed.json()["closed_at"] is not None
    assert reopened.json()["state"] == "open" and reopened.json()["closed_at"] is None
    assert (closed["ETag"], reopened["ETag"]) == ('"2"', '"3"')
    events = ThreadEvent.objects.filter(thread_id=task_a.thread_id).order_by("pk")
    assert [(e.kind, e.channel, e.data.get("comment")) for e in events][1:] == [
        ("closed", "api", "Arrived."),
        ("reopened", "api", "Wrong one."),
    ]
    assert kinds(ticket_a.thread_id)[-2:] == ["task_closed", "task_reopened"]


def test_closing_twice_and_reopening_an_open_task_conflict(api, cast, task_a):
    client = api.agent(cast.agent_a)
    client.post(url(task_a, "close/"))

    with nothing_written():
        again = client.post(url(task_a, "close/"))
        assign = client.post(url(task_a, "assign/"), {"agent": cast.agent_a.pk})
    client.post(url(task_a, "reopen/"))
    with nothing_written():
        reopen = client.post(url(task_a, "reopen/"))

    for response in (again, assign, reopen):
        assert response.status_code == 409
    assert problem(again)["code"] == "task_closed"
    assert problem(reopen)["code"] == "task_open"


# --- assignment -----------------------------------------------------------------------------


def test_assign_to_an_agent_and_a_team_then_release(api, cast, task_a):
    team = TeamFactory(members=[cast.agent_a])
    client = api.agent(cast.agent_a)

    assigned = client.post(
        url(task_a, "assign/"),
        {"agent": cast.manager_a.pk, "team": team.pk, "comment": "yours"},
        format="json",
    )
    released = client.post(url(task_a, "release/"), {"team": False}, format="json")

    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["assignee"]["id"] == cast.manager_a.pk
    assert assigned.json()["team"] == {"id": team.pk, "name": team.name}
    assert released.status_code == 200
    assert released.json()["assignee"] is None
    assert released.json()["team"]["id"] == team.pk
    event = ThreadEvent.objects.get(thread_id=task_a.thread_id, kind="assigned")
    assert event.channel == "api" and event.data["comment"] == "yours"


def test_assign_without_anyone_is_a_422(api, cast, task_a):
    client = api.agent(cast.agent_a)  # its token is made before the refused call
    with nothing_written():
        response = client.post(url(task_a, "assign/"), {}, format="json")

    assert response.status_code == 422
    assert problem(response)["code"] == "no_assignee"


def test_a_second_claim_conflicts_and_names_the_winner(api, cast, task_a):
    agent, manager = api.agent(cast.agent_a), api.agent(cast.manager_a)
    first = agent.post(url(task_a, "claim/"))
    with nothing_written():
        second = manager.post(url(task_a, "claim/"))
        release_nothing = agent.post(url(task_a, "release/"), {"agent": False})

    assert first.status_code == 200
    assert first.json()["assignee"]["id"] == cast.agent_a.pk
    assert second.status_code == 409
    assert problem(second)["code"] == "already_assigned"
    assert release_nothing.status_code == 409  # no team to release
    assert Task.objects.get(pk=task_a.pk).assignee == cast.agent_a


def test_a_key_cannot_claim(api, cast, task_a):
    key = api.key(read=[cast.dept_a], write=[cast.dept_a])
    with nothing_written():
        response = key.post(url(task_a, "claim/"))

    assert response.status_code == 403


def test_transfer_moves_the_task_out_of_the_agents_sight(api, cast):
    task = new_task(cast.admin, department=cast.dept_a)
    client = api.agent(cast.agent_a)

    response = client.post(
        url(task, "transfer/"), {"department": cast.dept_b.pk, "comment": "Theirs."}
    )

    assert response.status_code == 200, response.content
    assert response.json()["department"]["id"] == cast.dept_b.pk
    event = ThreadEvent.objects.get(thread_id=task.thread_id, kind="transferred")
    assert event.data["comment"] == "Theirs." and event.channel == "api"
    assert client.get(url(task)).status_code == 404
    assert api.agent(cast.agent_b).get(url(task)).status_code == 200


def test_transfer_to_an_unknown_department_is_a_422(api, cast, task_a):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(url(task_a, "transfer/"), {"department": 999999})

    assert response.status_code == 422
    assert set(problem(response)["errors"]) == {"department"}


# --- the thread -----------------------------------------------------------------------------


def test_post_an_update_with_a_file_and_list_the_thread(api, cast, task_a):
    client = api.agent(cast.agent_a)
    content = base64.b64encode(b"invoice").decode()

    posted = client.post(
        url(task_a, "entries/"),
        {
            "body": "Ordered, see the invoice.",
            "title": "Ordered",
            "attachments": [{"filename": "invoice.txt", "content": content}],
        },
        format="json",
    )
    listed = client.get(url(task_a, "entries/"))

    assert posted.status_code == 201, posted.content
    assert posted["ETag"] == '"2"'
    entry = posted.json()
    assert (entry["kind"], entry["title"], entry["source"]) == ("note", "Ordered", "api")
    assert [a["filename"] for a in entry["attachments"]] == ["invoice.txt"]
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [e["body_text"] for e in rows] == ["Two of them, blue.", "Ordered, see the invoice."]
    assert Attachment.objects.get(entry_id=entry["id"]).filename == "invoice.txt"
    assert kinds(task_a.thread_id) == ["created", "note"]


def test_an_update_as_multipart_with_a_file(api, cast, task_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("photo.txt", b"part", content_type="text/plain")
    response = api.agent(cast.agent_a).post(
        url(task_a, "entries/"), {"body": "Photo of the part.", "attachments": [upload]}
    )

    assert response.status_code == 201, response.content
    assert [a["filename"] for a in response.json()["attachments"]] == ["photo.txt"]


def test_an_empty_update_is_a_422_and_a_deleted_tasks_thread_takes_none(api, cast, task_a):
    admin = api.agent(cast.admin)

    with nothing_written():
        empty = admin.post(url(task_a, "entries/"), {"body": ""}, format="json")
    admin.delete(url(task_a))
    with nothing_written():
        deleted = admin.post(url(task_a, "entries/"), {"body": "x"}, format="json")

    assert empty.status_code == 422
    assert deleted.status_code == 409


# --- a ticket with open tasks does not close ------------------------------------------------


def _open_tasks(cast, ticket):
    return [
        new_task(cast.admin, ticket=ticket, title="Order the part"),
        new_task(cast.admin, ticket=ticket, title="Call back"),
    ]


def test_closing_a_ticket_with_open_tasks_is_a_409_naming_them(api, cast, ticket_a):
    tasks = _open_tasks(cast, ticket_a)
    client = api.agent(cast.agent_a)
    path = f"/api/v1/tickets/{ticket_a.number}/"
    closed = {"status": status("Resolved").pk}

    with nothing_written():
        by_action = client.post(path + "status/", closed, format="json")
        by_patch = client.patch(path, {**closed, "subject": "VPN fixed"}, format="json")

    expected = [{"id": t.pk, "number": t.number, "title": t.title} for t in tasks]
    for response in (by_action, by_patch):
        assert response.status_code == 409
        body = problem(response)
        assert body["code"] == "open_tasks"
        assert body["tasks"] == expected
        assert body["detail"].startswith(f"Ticket #{ticket_a.number} has open tasks: #")


def test_close_tasks_closes_them_with_the_ticket(api, cast, ticket_a):
    tasks = _open_tasks(cast, ticket_a)
    client = api.agent(cast.agent_a)

    response = client.post(
        f"/api/v1/tickets/{ticket_a.number}/status/",
        {"status": status("Resolved").pk, "close_tasks": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "closed"
    assert {t.state for t in Task.objects.filter(pk__in=[t.pk for t in tasks])} == {
        TaskState.CLOSED
    }
    assert kinds(tasks[0].thread_id) == ["created", "closed"]


def test_patch_with_close_tasks_closes_them_in_the_same_transaction(api, cast, ticket_a):
    (task, _) = _open_tasks(cast, ticket_a)
    client = api.agent(cast.agent_a)
    path = f"/api/v1/tickets/{ticket_a.number}/"
    closing = {"status": status("Resolved").pk, "close_tasks": True}

    with nothing_written():
        alone = client.patch(path, {"close_tasks": True}, format="json")
        # the tasks close first, then the ticket's own guard refuses: all rolls back
        HelpdeskSettings.objects.filter(pk=1).update(require_topic_to_close=True)
        guarded = client.patch(path, closing, format="json")
        HelpdeskSettings.objects.filter(pk=1).update(require_topic_to_close=False)
    response = client.patch(path, closing, format="json")

    assert alone.status_code == 422
    assert problem(alone)["errors"] == {"close_tasks": ["Only with status."]}
    assert guarded.status_code == 409
    assert problem(guarded)["code"] == "topic_required_to_close"
    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=ticket_a.pk).state == State.CLOSED
    assert Task.objects.get(pk=task.pk).state == TaskState.CLOSED


def test_close_tasks_needs_task_close_on_each(api, cast, ticket_a):
    """A role that closes tickets but not tasks: nothing closes."""
    _open_tasks(cast, ticket_a)
    granted = [p for p in role("Expanded Access").permissions if p != "task.close"]
    closer = Role.objects.create(name="Ticket closer", permissions=granted)
    agent = AgentFactory(department=cast.dept_a, role=closer)

    client = api.agent(agent)
    with nothing_written():
        response = client.post(
            f"/api/v1/tickets/{ticket_a.number}/status/",
            {"status": status("Resolved").pk, "close_tasks": True},
            format="json",
        )

    assert response.status_code == 403
    assert problem(response)["code"] == "permission_denied"


def test_closed_tasks_do_not_stop_the_ticket(api, cast, ticket_a, task_a):
    client = api.agent(cast.agent_a)
    client.post(url(task_a, "close/"))

    response = client.post(
        f"/api/v1/tickets/{ticket_a.number}/status/", {"status": status("Resolved").pk}
    )

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "closed"
