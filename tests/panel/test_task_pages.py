"""The task page (/scp/tasks/<number>/): what it shows, each action through its service,
Post/Redirect/Get and htmx answers, updates with drafts and the lock, what each agent
is shown and refused, and 404 on every task URL for a task the agent may not see."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from threads.models import Attachment, Draft, Lock, ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import CustomField, CustomForm, Task, TaskFieldValue, TaskState

from ..factories import AgentFactory, TeamFactory, attachment, role
from .conftest import new_task, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def fresh(task: Task) -> Task:
    return Task.objects.get(pk=task.pk)


def snapshot(task: Task) -> tuple:
    """What any task action writes: a refusal leaves all of it as it was."""
    row = Task.objects.filter(pk=task.pk).values().get()
    return (
        row,
        ThreadEvent.objects.count(),
        ThreadEntry.objects.count(),
        TaskFieldValue.objects.count(),
        Draft.objects.count(),
    )


@pytest.fixture
def task(cast, ticket_a):
    return new_task(cast.agent_a, ticket=ticket_a, description="Two of them, blue.")


# --- the page ----------------------------------------------------------------------------------
def test_the_task_page_shows_its_header_thread_and_events(cast, ticket_a, as_agent_a):
    due = timezone.now() + dt.timedelta(days=2)
    task = new_task(
        cast.admin,
        ticket=ticket_a,
        description="Two of them, blue.",
        assignee=cast.agent_a,
        due_at=due,
        files=[attachment("spec.txt", b"size 4")],
    )
    services.task_post_update(actor=cast.agent_a, task=task, body="Ordered from the vendor.")
    response = as_agent_a.get(f"/scp/tasks/{task.number}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Task #{task.number}</span> Order the part" in html
    assert f'<a href="/scp/tickets/{ticket_a.number}/" data-ticket-link>' in html
    assert "<dd>Support</dd>" in html and cast.agent_a.display_name in html
    assert f'datetime="{due.isoformat()}"' in html
    assert "Two of them, blue." in html and "Ordered from the vendor." in html
    att = Attachment.objects.get(filename="spec.txt")
    assert f"/scp/tasks/{task.number}/attachments/{att.pk}/spec.txt" in html
    assert 'class="event event-created"' in html
    assert 'data-nav="tasks" aria-current="page"' in html


def test_a_task_that_leaves_the_agents_view_sends_them_to_the_task_queues(cast, as_agent_a):
    task = new_task(cast.admin, department=cast.dept_a)
    response = as_agent_a.post(
        f"/scp/tasks/{task.number}/do/transfer/", {"department": cast.dept_b.pk}
    )
    assert response.status_code == 302 and response["Location"] == "/scp/tasks/"
    page = as_agent_a.get("/scp/tasks/").content.decode()
    assert f"Task #{task.number} is no longer in your view." in page
    assert fresh(task).department == cast.dept_b


def test_a_standalone_task_says_so_and_a_ticket_the_agent_cannot_see_is_not_linked(cast):
    standalone = new_task(cast.admin, department=cast.dept_a)
    html = signed_in(cast.agent_a).get(f"/scp/tasks/{standalone.number}/").content.decode()
    assert "<em>Standalone</em>" in html
    # bea sees the task assigned to her, not its ticket of Support
    ticket = services.ticket_open(
        actor=cast.alice,
        new=services.NewTicket(requester=cast.alice, subject="S", body="b", department=cast.dept_a),
    )
    task = new_task(cast.admin, ticket=ticket, assignee=cast.agent_b)
    html = signed_in(cast.agent_b).get(f"/scp/tasks/{task.number}/").content.decode()
    assert f"#{ticket.number}" in html and f'href="/scp/tickets/{ticket.number}/"' not in html


# --- actions -------------------------------------------------------------------------------------
def test_claim_answers_with_a_redirect_then_the_message(cast, task, as_agent_a):
    response = as_agent_a.post(f"/scp/tasks/{task.number}/claim/")
    assert response.status_code == 302
    assert response["Location"] == f"/scp/tasks/{task.number}/"
    assert fresh(task).assignee == cast.agent_a
    assert "You claimed this task." in as_agent_a.get(response["Location"]).content.decode()


def test_an_htmx_action_answers_with_the_task_region_only(cast, task, as_agent_a):
    response = as_agent_a.post(f"/scp/tasks/{task.number}/claim/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="task"')
    assert 'id="sidebar"' not in html and 'hx-swap-oob="true"' in html
    assert "You claimed this task." in html


def test_claiming_a_task_someone_holds_is_a_409_naming_them(cast, task):
    services.task_claim(actor=cast.admin, task=task)
    before = snapshot(task)
    response = signed_in(cast.agent_a).post(f"/scp/tasks/{task.number}/claim/")
    assert response.status_code == 409
    assert f"already assigned to {cast.admin}" in response.content.decode()
    assert snapshot(task) == before


def test_assign_transfer_edit_close_reopen_release_and_delete(cast, task, as_agent_a):
    team = TeamFactory(members=[cast.agent_a])
    n = task.number
    form = CustomForm.objects.create(name="Task details", scope=CustomForm.Scope.TASK)
    CustomField.objects.create(form=form, name="part", label="Part number", kind="text")

    r = as_agent_a.post(f"/scp/tasks/{n}/do/assign/", {"agent": cast.agent_a.pk, "team": team.pk})
    assert r.status_code == 302
    assert (fresh(task).assignee, fresh(task).team) == (cast.agent_a, team)

    due = "2099-01-02T10:30"
    r = as_agent_a.post(
        f"/scp/tasks/{n}/do/edit/", {"title": "Order two parts", "due_at": due, "cf_part": "X-1"}
    )
    assert r.status_code == 302
    task = fresh(task)
    assert task.title == "Order two parts" and task.due_at.year == 2099
    assert TaskFieldValue.objects.get(task=task).value == "X-1"

    r = as_agent_a.post(f"/scp/tasks/{n}/release/", {"version": task.version})
    assert r.status_code == 302 and (fresh(task).assignee, fresh(task).team) == (None, None)

    r = as_agent_a.post(f"/scp/tasks/{n}/do/close/", {"comment": "Done."})
    assert r.status_code == 302 and fresh(task).state == TaskState.CLOSED
    closed = ThreadEvent.objects.filter(thread_id=task.thread_id, kind="closed").get()
    assert closed.data["comment"] == "Done." and closed.channel == "panel"

    r = as_agent_a.post(f"/scp/tasks/{n}/do/reopen/", {})
    assert r.status_code == 302 and fresh(task).state == TaskState.OPEN

    r = as_agent_a.post(f"/scp/tasks/{n}/do/transfer/", {"department": cast.dept_b.pk})
    assert r.status_code == 302 and fresh(task).department == cast.dept_b
    # agent_a has no role in Billing: they still see it through its ticket, and do nothing
    assert _shown(as_agent_a, task) == set()

    admin = signed_in(cast.admin)
    r = admin.post(f"/scp/tasks/{n}/delete/", {"version": fresh(task).version})
    assert r.status_code == 302 and fresh(task).state == TaskState.DELETED


def test_the_edit_form_comes_filled_in_and_loads_as_a_fragment_for_htmx(cast, task, as_agent_a):
    fragment = as_agent_a.get(f"/scp/tasks/{task.number}/do/edit/", **HTMX).content.decode()
    assert fragment.lstrip().startswith("<form")
    assert 'value="Order the part"' in fragment
    page = as_agent_a.get(f"/scp/tasks/{task.number}/do/edit/").content.decode()
    assert "<html" in page and 'id="sidebar"' in page
    assert as_agent_a.get(f"/scp/tasks/{task.number}/do/bogus/").status_code == 404


def test_a_stale_edit_is_a_412_that_keeps_the_text_and_writes_nothing(cast, task, as_agent_a):
    old = task.version
    services.task_edit(actor=cast.admin, task=task, title="Changed meanwhile")
    before = snapshot(task)
    response = as_agent_a.post(
        f"/scp/tasks/{task.number}/do/edit/", {"title": "Mine", "version": old}
    )
    assert response.status_code == 412
    html = response.content.decode()
    assert "The task changed while you were writing" in html
    assert 'value="Mine"' in html  # the form, open with the agent's text
    assert snapshot(task) == before


def test_invalid_input_is_a_422_and_writes_nothing(cast, task, as_agent_a):
    before = snapshot(task)
    response = as_agent_a.post(f"/scp/tasks/{task.number}/do/assign/", {})
    assert response.status_code == 422
    assert "Choose an agent or a team." in response.content.decode()
    response = as_agent_a.post(f"/scp/tasks/{task.number}/do/edit/", {"title": " "})
    assert response.status_code == 422
    assert snapshot(task) == before


# --- updates, drafts, the lock, attachments -------------------------------------------------------
def test_posting_an_update_with_a_file_drops_the_draft_and_the_lock(cast, task, as_agent_a):
    as_agent_a.post(f"/scp/tasks/{task.number}/draft/", {"body": "Half written"})
    draft = Draft.objects.get(agent=cast.agent_a)
    assert (draft.namespace, draft.body) == (f"task.{task.pk}.update", "Half written")
    assert Lock.objects.get(thread_id=task.thread_id).agent == cast.agent_a
    assert "Half written" in as_agent_a.get(f"/scp/tasks/{task.number}/").content.decode()

    upload = SimpleUploadedFile("invoice.txt", b"42 EUR", content_type="text/plain")
    response = as_agent_a.post(
        f"/scp/tasks/{task.number}/update/",
        {"body": "Part ordered.", "title": "Vendor", "attachments": [upload]},
    )
    assert response.status_code == 302
    entry = ThreadEntry.objects.filter(thread_id=task.thread_id).latest("pk")
    assert (entry.kind, entry.body_text, entry.title) == ("note", "Part ordered.", "Vendor")
    att = entry.attachments.get()
    assert not Draft.objects.exists() and not Lock.objects.exists()
    download = as_agent_a.get(f"/scp/tasks/{task.number}/attachments/{att.pk}/invoice.txt")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"42 EUR"


def test_another_agents_lock_refuses_the_update_and_may_be_broken_by_an_admin(
    cast, task, as_agent_a
):
    services.task_lock_acquire(actor=cast.admin, task=task)
    status = as_agent_a.post(f"/scp/tasks/{task.number}/draft/", {"body": "x"}).content.decode()
    assert "is working on task" in status and "Take over the lock" not in status
    before = snapshot(task)
    response = as_agent_a.post(f"/scp/tasks/{task.number}/update/", {"body": "Mine"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "is working on task" in html and "Mine</textarea>" in html
    assert snapshot(task)[2] == before[2]  # no entry

    admin = signed_in(cast.admin)
    services.task_lock_release(actor=cast.admin, task=task)
    services.task_lock_acquire(actor=cast.agent_a, task=task)
    response = admin.post(f"/scp/tasks/{task.number}/lock/", {"break": "1"}, **HTMX)
    assert response.status_code == 200
    assert Lock.objects.get(thread_id=task.thread_id).agent == cast.admin
    assert admin.post(f"/scp/tasks/{task.number}/unlock/", **HTMX).status_code == 204
    assert not Lock.objects.exists()


def test_an_attachment_of_another_thread_is_not_found_through_a_task(cast, task, as_agent_a):
    other = new_task(cast.admin, department=cast.dept_a, files=[attachment("secret.txt")])
    att = Attachment.objects.get(entry__thread_id=other.thread_id)
    url = f"/scp/tasks/{task.number}/attachments/{att.pk}/secret.txt"
    assert as_agent_a.get(url).status_code == 404


# --- what is shown, what is refused ---------------------------------------------------------------
POSTS = {
    "claim": ("claim/", {}),
    "release": ("release/", {}),
    "assign": ("do/assign/", {"agent": "AGENT"}),
    "transfer": ("do/transfer/", {"department": "DEPT_B"}),
    "edit": ("do/edit/", {"title": "New title"}),
    "close": ("do/close/", {}),
    "delete": ("delete/", {}),
    "update": ("update/", {"body": "Hello"}),
}
MARKERS = {
    "claim": "/claim/",
    "release": "/release/",
    "assign": "/do/assign/",
    "transfer": "/do/transfer/",
    "edit": "/do/edit/",
    "close": "/do/close/",
    "delete": "/delete/",
    "update": "/update/",
}
PERMS = {
    "claim": "task.assign",
    "release": "task.assign",
    "assign": "task.assign",
    "transfer": "task.transfer",
    "edit": "task.edit",
    "close": "task.close",
    "delete": "task.delete",
    "update": "task.reply",
}


def _post(client, cast, task, action):
    url, data = POSTS[action]
    data = {
        k: {"AGENT": cast.agent_a.pk, "DEPT_B": cast.dept_b.pk}.get(v, v) for k, v in data.items()
    }
    return client.post(f"/scp/tasks/{task.number}/{url}", data)


def _shown(client, task) -> set[str]:
    html = client.get(f"/scp/tasks/{task.number}/").content.decode()
    return {a for a, m in MARKERS.items() if f"/scp/tasks/{task.number}{m}" in html}


@pytest.fixture
def view_only(cast):
    return AgentFactory(username="viewer", department=cast.dept_a, role=role("View only"))


def test_an_all_access_agent_is_shown_every_action(cast, task, as_agent_a):
    assert _shown(as_agent_a, task) == set(MARKERS) - {"release"}  # release once assigned
    services.task_assign(actor=cast.admin, task=task, agent=cast.agent_a)
    assert _shown(as_agent_a, fresh(task)) == set(MARKERS) - {"claim"}


def test_a_limited_access_agent_sees_what_the_role_allows(cast, task):
    limited = AgentFactory(department=cast.dept_a, role=role("Limited Access"))
    # Limited Access: task.create, assign, transfer, reply
    assert _shown(signed_in(limited), task) == {"claim", "assign", "transfer", "update"}


def test_a_view_only_agent_sees_no_action(view_only, task):
    client = signed_in(view_only)
    assert _shown(client, task) == set()
    assert (
        "does not allow task updates" in client.get(f"/scp/tasks/{task.number}/").content.decode()
    )


@pytest.mark.parametrize("action", sorted(POSTS))
def test_the_server_refuses_each_action_without_its_permission(action, cast, view_only, task):
    if action == "release":
        services.task_assign(actor=cast.admin, task=task, agent=cast.agent_a)
    before = snapshot(task)
    response = _post(signed_in(view_only), cast, fresh(task), action)
    assert response.status_code == 403, action
    assert f"Your role in Support does not allow {PERMS[action]}." in response.content.decode()
    assert snapshot(task) == before


def test_closed_and_deleted_tasks_offer_only_what_their_state_allows(cast, task, as_agent_a):
    services.task_close(actor=cast.admin, task=task)
    html = as_agent_a.get(f"/scp/tasks/{task.number}/").content.decode()
    assert f"/scp/tasks/{task.number}/do/reopen/" in html
    assert _shown(as_agent_a, task) == {"delete", "update"}
    services.task_delete(actor=cast.admin, task=task)
    assert as_agent_a.get(f"/scp/tasks/{task.number}/").status_code == 404  # admins only
    admin = signed_in(cast.admin)
    assert _shown(admin, task) == set()


def _every_task_url(task, cast) -> tuple[list[str], list[str]]:
    n = task.number
    att = Attachment.objects.filter(entry__thread_id=task.thread_id).first()
    gets = [
        f"/scp/tasks/{n}/",
        f"/scp/tasks/{n}/do/edit/",
        f"/scp/tasks/{n}/do/assign/",
        f"/scp/tasks/{n}/attachments/{att.pk}/{att.filename}",
    ]
    posts = [f"/scp/tasks/{n}/{url}" for url, _ in POSTS.values()] + [
        f"/scp/tasks/{n}/do/reopen/",
        f"/scp/tasks/{n}/draft/",
        f"/scp/tasks/{n}/lock/",
        f"/scp/tasks/{n}/unlock/",
    ]
    if task.ticket_id:
        posts.append(f"/scp/tickets/{task.ticket.number}/tasks/{n}/close/")
    return gets, posts


def test_every_task_url_answers_404_for_a_task_the_agent_may_not_see(cast, ticket_a):
    task = new_task(cast.admin, ticket=ticket_a, files=[attachment()])
    standalone = new_task(cast.admin, department=cast.dept_a, files=[attachment()])
    bea = signed_in(cast.agent_b)
    for t in (task, standalone):
        before = snapshot(t)
        gets, posts = _every_task_url(t, cast)
        for url in gets:
            assert bea.get(url).status_code == 404, url
        for url in posts:
            data = {"body": "x", "title": "x", "agent": cast.agent_b.pk}
            assert bea.post(url, data).status_code == 404, url
        assert snapshot(t) == before
    assert bea.get("/scp/tasks/404404/").status_code == 404


def test_the_task_page_costs_the_same_number_of_queries_whatever_its_thread(cast, task):
    client = signed_in(cast.agent_a)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/scp/tasks/{task.number}/").status_code == 200
        return len(ctx.captured_queries)

    short = count()
    for i in range(12):
        services.task_post_update(
            actor=cast.admin, task=task, body=f"Update {i}", files=[attachment(f"f{i}.txt")]
        )
    services.task_assign(actor=cast.admin, task=task, agent=cast.manager_a)
    assert count() == short
