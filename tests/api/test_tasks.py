"""/api/v1/tasks/ and /api/v1/tickets/{number}/tasks/: who sees which task (404), who may
do what (403, the permission matrix of the cast and the roles), creating, changing and
deleting, ETag/If-Match and Idempotency-Key; a refusal writes nothing."""

import base64
import datetime as dt

import pytest
from django.utils import timezone

from helpdesk.api.models import IdempotencyRecord
from threads.models import Attachment, ThreadEntry, ThreadEvent
from tickets.models import CustomField, CustomForm, Task, TaskFieldValue, TaskState

from ..factories import AgentFactory, role
from .conftest import new_task, nothing_written, problem

TASKS = "/api/v1/tasks/"


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [t["number"] for t in rows]


def url(task, path="") -> str:
    return f"{TASKS}{task.number}/{path}"


def kinds(task) -> list[str]:
    rows = ThreadEvent.objects.filter(thread_id=task.thread_id).order_by("pk")
    return list(rows.values_list("kind", flat=True))


# Every task endpoint, with a body each would accept.
def endpoints(task, cast) -> list[tuple[str, str, dict]]:
    return [
        ("get", url(task), {}),
        ("patch", url(task), {"title": "Order two parts"}),
        ("delete", url(task), {}),
        ("post", url(task, "close/"), {}),
        ("post", url(task, "reopen/"), {}),
        ("post", url(task, "assign/"), {"agent": cast.agent_a.pk}),
        ("post", url(task, "claim/"), {}),
        ("post", url(task, "release/"), {}),
        ("post", url(task, "transfer/"), {"department": cast.dept_b.pk}),
        ("get", url(task, "entries/"), {}),
        ("post", url(task, "entries/"), {"body": "Ordered."}),
    ]


# --- who sees -----------------------------------------------------------------------------


def test_each_caller_lists_the_tasks_it_may_see(api, cast, task_a, task_b):
    assert numbers(api.agent(cast.agent_a).get(TASKS)) == [task_a.number]
    assert numbers(api.agent(cast.agent_b).get(TASKS)) == [task_b.number]
    assert set(numbers(api.agent(cast.admin).get(TASKS))) == {task_a.number, task_b.number}
    assert numbers(api.key(read=[cast.dept_b]).get(TASKS)) == [task_b.number]


def test_a_task_the_caller_may_not_see_is_a_404_on_every_endpoint(api, cast, task_a):
    client = api.agent(cast.agent_b)  # Billing: task_a is Support's and of a Support ticket

    with nothing_written():
        for method, path, body in endpoints(task_a, cast):
            response = getattr(client, method)(path, body, format="json")
            assert response.status_code == 404, (method, path)
            assert problem(response)["code"] == "task_not_found", (method, path)
            assert response.json()["detail"] == "Task not found."
        assert client.get(f"{TASKS}000000/").status_code == 404


def test_a_key_sees_its_read_scope_only(api, cast, task_a, task_b):
    reader = api.key(read=[cast.dept_a])

    assert reader.get(url(task_a)).status_code == 200
    with nothing_written():
        for method, path, body in endpoints(task_b, cast):
            response = getattr(reader, method)(path, body, format="json")
            assert response.status_code == 404, (method, path)


def test_clients_meet_no_task_endpoint_at_all(api, cast, ticket_a, task_a):
    """For a client, tasks do not exist: every task endpoint answers as an unknown route,
    before reading the body or recording an Idempotency-Key."""
    alice = api.client_user(cast.alice)  # requester of ticket_a, which holds task_a
    unknown = problem(alice.get("/api/v1/no-such-thing/"))
    calls = [
        *endpoints(task_a, cast),
        ("get", TASKS, {}),
        ("post", TASKS, {"title": "Mine", "department": cast.dept_a.pk}),
        ("get", f"/api/v1/tickets/{ticket_a.number}/tasks/", {}),
        ("post", f"/api/v1/tickets/{ticket_a.number}/tasks/", {"title": "Mine"}),
    ]

    with nothing_written():
        for method, path, body in calls:
            response = getattr(alice, method)(
                path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"{method}{path}"
            )
            assert response.status_code == 404, (method, path)
            assert problem(response) == unknown, (method, path)
    assert not IdempotencyRecord.objects.exists()
    # the ticket itself is still hers
    assert alice.get(f"/api/v1/tickets/{ticket_a.number}/").status_code == 200


def test_without_credentials_the_task_endpoints_are_a_401(api, task_a):
    assert api.anonymous().get(TASKS).status_code == 401
    assert api.anonymous().post(url(task_a, "close/")).status_code == 401


def test_an_agent_who_sees_a_task_only_through_its_ticket_may_read_it_but_not_change_it(
    api, cast, ticket_a
):
    task = new_task(cast.admin, ticket=ticket_a, department=cast.dept_b)
    client = api.agent(cast.agent_a)

    assert client.get(url(task)).status_code == 200
    assert client.get(url(task, "entries/")).status_code == 200
    assert numbers(client.get(f"/api/v1/tickets/{ticket_a.number}/tasks/")) == [task.number]
    with nothing_written():
        for method, path, body in endpoints(task, cast):
            if method == "get":
                continue
            response = getattr(client, method)(path, body, format="json")
            assert response.status_code == 403, (method, path)
            assert problem(response)["code"] == "permission_denied", (method, path)


def test_deleted_tasks_are_seen_by_admins_only(api, cast, task_a):
    services_delete = api.agent(cast.admin).delete(url(task_a))
    assert services_delete.status_code == 200
    assert services_delete.json()["state"] == "deleted"

    assert api.agent(cast.agent_a).get(url(task_a)).status_code == 404
    assert numbers(api.agent(cast.agent_a).get(TASKS)) == []
    assert api.key(read=[cast.dept_a]).get(url(task_a)).status_code == 404
    admin = api.agent(cast.admin)
    assert admin.get(url(task_a)).json()["state"] == "deleted"
    assert numbers(admin.get(TASKS, {"state": "deleted"})) == [task_a.number]


# --- the permission matrix ----------------------------------------------------------------


# The seeded roles, each granting what the one before it grants and more (osTicket's).
ROLES = ("View only", "Limited Access", "Expanded Access", "All Access")
# The least role that may do each thing; every role before it is refused (403).
LEAST = {
    "get ": "View only",
    "get entries/": "View only",
    "post create": "Limited Access",
    "post ticket-create": "Limited Access",
    "post assign/": "Limited Access",
    "post claim/": "Limited Access",
    "post transfer/": "Limited Access",
    "post entries/": "Limited Access",
    "patch ": "Expanded Access",
    "post close/": "Expanded Access",
    "delete ": "All Access",
}


@pytest.mark.parametrize("role_name", ROLES)
@pytest.mark.parametrize("call", LEAST)
def test_the_permission_matrix_of_the_roles(api, cast, ticket_a, task_a, role_name, call):
    method, path = call.split(" ")
    allowed = ROLES.index(role_name) >= ROLES.index(LEAST[call])
    agent = AgentFactory(department=cast.dept_a, role=role(role_name))
    client = api.agent(agent)
    bodies = {
        "create": (TASKS, {"title": "Call back", "department": cast.dept_a.pk}),
        "ticket-create": (f"/api/v1/tickets/{ticket_a.number}/tasks/", {"title": "Call back"}),
        "": (url(task_a), {"title": "Order two parts"}),
        "assign/": (url(task_a, path), {"agent": cast.agent_a.pk}),
        "transfer/": (url(task_a, path), {"department": cast.dept_b.pk}),
        "entries/": (url(task_a, path), {"body": "Ordered."}),
    }
    target, body = bodies.get(path, (url(task_a, path), {}))
    body = {} if method == "get" else body
    tasks, version = Task.objects.count(), task_a.version

    if allowed:
        response = getattr(client, method)(target, body, format="json")
        assert response.status_code in (200, 201), response.content
        task_a.refresh_from_db()
        changed = Task.objects.count() == tasks + 1 or task_a.version > version
        assert changed or method == "get"
    else:
        with nothing_written():
            response = getattr(client, method)(target, body, format="json")
        assert response.status_code == 403, response.content
        assert problem(response)["code"] == "permission_denied"


def test_an_admin_may_do_everything_in_every_department(api, cast, task_b):
    admin = api.agent(cast.admin)

    assert admin.patch(url(task_b), {"title": "Check it"}, format="json").status_code == 200
    assert admin.post(url(task_b, "assign/"), {"agent": cast.agent_b.pk}).status_code == 200
    assert admin.post(url(task_b, "entries/"), {"body": "Done."}).status_code == 201
    assert admin.post(url(task_b, "close/")).status_code == 200
    assert admin.delete(url(task_b)).status_code == 200
    assert kinds(task_b) == ["created", "edited", "assigned", "note", "closed", "deleted"]


def test_a_key_changes_tasks_of_its_write_scope_only(api, cast, task_a):
    reader = api.key(read=[cast.dept_a], write=[cast.dept_b])
    writer = api.key(read=[cast.dept_a], write=[cast.dept_a])

    with nothing_written():
        refused = reader.post(url(task_a, "close/"))
        refused_create = reader.post(TASKS, {"title": "x", "department": cast.dept_a.pk})
    assert refused.status_code == refused_create.status_code == 403
    assert problem(refused)["detail"].startswith("This API key's scope in Support")

    assert writer.post(url(task_a, "close/")).status_code == 200
    created = writer.post(TASKS, {"title": "From the CRM", "department": cast.dept_a.pk})
    assert created.status_code == 201
    assert created.json()["created_by"] is None
    with nothing_written():
        outside = writer.post(TASKS, {"title": "x", "department": cast.dept_b.pk})
    assert outside.status_code == 403


# --- creating -----------------------------------------------------------------------------


def test_an_agent_creates_a_standalone_task_with_a_file(api, cast):
    due = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    body = {
        "title": "  Renew the   certificate ",
        "description": "It expires on the 30th.",
        "department": cast.dept_a.pk,
        "assignee": cast.agent_a.pk,
        "due_at": due.isoformat(),
        "attachments": [
            {
                "filename": "cert.txt",
                "content_type": "text/plain",
                "content": base64.b64encode(b"PEM").decode(),
            }
        ],
    }

    response = api.agent(cast.agent_a).post(TASKS, body, format="json")

    assert response.status_code == 201, response.content
    task = Task.objects.get()
    data = response.json()
    assert response["Location"] == f"/api/v1/tasks/{task.number}/"
    assert response["ETag"] == '"1"'
    assert data["url"] == f"http://testserver/api/v1/tasks/{task.number}/"
    assert {k: data[k] for k in ("title", "state", "ticket", "ticket_url", "is_overdue")} == {
        "title": "Renew the certificate",
        "state": "open",
        "ticket": None,
        "ticket_url": None,
        "is_overdue": False,
    }
    assert data["department"] == {"id": cast.dept_a.pk, "name": "Support"}
    assert data["assignee"]["id"] == cast.agent_a.pk
    assert data["created_by"]["id"] == cast.agent_a.pk
    assert dt.datetime.fromisoformat(data["due_at"]) == due
    assert data["custom_fields"] == {} and data["version"] == 1
    first = ThreadEntry.objects.get(thread_id=task.thread_id)
    assert first.body_text == "It expires on the 30th." and first.kind == "note"
    assert first.source == "api"
    assert Attachment.objects.get(entry=first).filename == "cert.txt"
    assert ThreadEvent.objects.get(thread_id=task.thread_id, kind="created").channel == "api"


def test_a_task_without_a_title_is_a_422_and_nothing_is_written(api, cast):
    client = api.agent(cast.agent_a)

    with nothing_written():
        missing = client.post(TASKS, {"department": cast.dept_a.pk}, format="json")
        blank = client.post(TASKS, {"title": "   ", "department": cast.dept_a.pk}, format="json")
        unknown = client.post(TASKS, {"title": "x", "department": 999999}, format="json")

    assert missing.status_code == blank.status_code == unknown.status_code == 422
    assert problem(missing)["errors"] == {"title": ["This field is required."]}
    assert set(problem(unknown)["errors"]) == {"department"}


def test_the_same_idempotency_key_replays_the_creation(api, cast):
    client = api.agent(cast.agent_a)
    body = {"title": "Call the client back", "department": cast.dept_a.pk}

    first = client.post(TASKS, body, format="json", HTTP_IDEMPOTENCY_KEY="crm-7")
    again = client.post(TASKS, body, format="json", HTTP_IDEMPOTENCY_KEY="crm-7")
    other = client.post(TASKS, {**body, "title": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="crm-7")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content and again["Location"] == first["Location"]
    assert other.status_code == 422
    assert problem(other)["code"] == "idempotency_key_reused"
    assert Task.objects.count() == 1


def test_a_tickets_task_is_created_and_listed_under_it(api, cast, ticket_a):
    client = api.agent(cast.agent_a)
    path = f"/api/v1/tickets/{ticket_a.number}/tasks/"

    response = client.post(path, {"title": "Call the client back"}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["ticket"] == ticket_a.number
    assert data["ticket_url"] == f"http://testserver/api/v1/tickets/{ticket_a.number}/"
    assert data["department"]["id"] == cast.dept_a.pk  # the ticket's
    assert numbers(client.get(path)) == [data["number"]]
    line = ThreadEvent.objects.get(thread_id=ticket_a.thread_id, kind="task_created")
    assert line.data["task"]["number"] == data["number"]
    assert numbers(client.get(TASKS, {"ticket": ticket_a.number})) == [data["number"]]


def test_create_task_from_a_thread_entry(api, cast, ticket_a):
    entry = ThreadEntry.objects.get(thread_id=ticket_a.thread_id)
    client = api.agent(cast.agent_a)
    path = f"/api/v1/tickets/{ticket_a.number}/tasks/"

    response = client.post(path, {"title": "Look into it", "entry": entry.pk}, format="json")

    assert response.status_code == 201, response.content
    task = Task.objects.get(number=response.json()["number"])
    first = ThreadEntry.objects.get(thread_id=task.thread_id)
    assert first.body_text == "Since 9am."
    created = ThreadEvent.objects.get(thread_id=task.thread_id, kind="created")
    assert created.data["entry"] == entry.pk


def test_an_entry_of_another_ticket_is_a_422_and_nothing_is_written(api, cast, ticket_a, ticket_b):
    other = ThreadEntry.objects.get(thread_id=ticket_b.thread_id)
    client = api.agent(cast.admin)

    with nothing_written():
        response = client.post(
            f"/api/v1/tickets/{ticket_a.number}/tasks/",
            {"title": "x", "entry": other.pk},
            format="json",
        )

    assert response.status_code == 422
    assert problem(response)["code"] == "entry_not_found"


def test_a_closed_ticket_takes_no_new_task(api, cast, ticket_a):
    client = api.agent(cast.agent_a)
    from ..factories import status

    client.post(f"/api/v1/tickets/{ticket_a.number}/status/", {"status": status("Closed").pk})

    with nothing_written():
        response = client.post(f"/api/v1/tickets/{ticket_a.number}/tasks/", {"title": "x"})

    assert response.status_code == 409


# --- changing -----------------------------------------------------------------------------


def test_patch_changes_the_title_due_date_and_custom_fields(api, cast, task_a):
    form = CustomForm.objects.create(name="Task Details", scope=CustomForm.Scope.TASK)
    CustomField.objects.create(form=form, name="part", label="Part")
    client = api.agent(cast.agent_a)
    due = timezone.now() + dt.timedelta(days=1)

    response = client.patch(
        url(task_a),
        {"title": "Order two parts", "due_at": due.isoformat(), "custom_fields": {"part": "X-9"}},
        format="json",
        HTTP_IF_MATCH='"1"',
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["title"] == "Order two parts" and data["version"] == 2
    assert data["custom_fields"] == {"part": "X-9"}
    assert response["ETag"] == '"2"'
    assert TaskFieldValue.objects.get(task=task_a).value == "X-9"
    assert kinds(task_a) == ["created", "edited"]
    assert client.get(url(task_a)).json()["custom_fields"] == {"part": "X-9"}


def test_a_stale_if_match_is_a_412_and_changes_nothing(api, cast, task_a):
    client, admin = api.agent(cast.agent_a), api.agent(cast.admin)
    etag = client.get(url(task_a))["ETag"]
    client.post(url(task_a, "claim/"), HTTP_IF_MATCH=etag)  # version 2 now

    with nothing_written():
        patched = client.patch(url(task_a), {"title": "x"}, format="json", HTTP_IF_MATCH=etag)
        closed = client.post(url(task_a, "close/"), HTTP_IF_MATCH=etag)
        posted = client.post(url(task_a, "entries/"), {"body": "x"}, HTTP_IF_MATCH=etag)
        deleted = admin.delete(url(task_a), HTTP_IF_MATCH=etag)

    for response in (patched, closed, posted, deleted):
        assert response.status_code == 412
        assert problem(response)["code"] == "stale_version"
    assert problem(closed)["detail"].startswith(f"Task #{task_a.number} changed since")
    current = client.get(url(task_a))["ETag"]
    assert current == '"2"'
    assert client.post(url(task_a, "close/"), HTTP_IF_MATCH=current).status_code == 200


def test_an_empty_patch_and_a_closed_tasks_edit_are_refused(api, cast, task_a):
    client = api.agent(cast.agent_a)

    empty = client.patch(url(task_a), {}, format="json")
    client.post(url(task_a, "close/"))
    with nothing_written():
        closed = client.patch(url(task_a), {"title": "x"}, format="json")

    assert empty.status_code == 422
    assert closed.status_code == 409
    assert problem(closed)["code"] == "task_closed"


def test_delete_is_soft_and_a_second_delete_conflicts(api, cast, task_a):
    admin = api.agent(cast.admin)

    first = admin.delete(url(task_a))
    with nothing_written():
        second = admin.delete(url(task_a))

    assert first.status_code == 200 and first.json()["state"] == "deleted"
    assert Task.objects.get(pk=task_a.pk).state == TaskState.DELETED
    assert second.status_code == 409
    assert problem(second)["code"] == "task_deleted"
