"""A ticket's tasks in the ticket view: the Tasks section (list, create, close inline),
"Create a task from this entry", and closing a ticket with open tasks (the status form
names them and may close them too; the bulk close reports them)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing.models import Department
from threads.models import Attachment, ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import CustomField, CustomForm, Task, TaskFieldValue, TaskState, Ticket

from ..factories import AgentFactory, attachment, open_ticket, role, status
from .conftest import new_task, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def rows() -> dict[str, int]:
    return {
        "tasks": Task.objects.count(),
        "entries": ThreadEntry.objects.count(),
        "events": ThreadEvent.objects.count(),
        "closed": Task.objects.filter(state=TaskState.CLOSED).count(),
        "tickets_closed": Ticket.objects.filter(state="closed").count(),
    }


def _section(html: str) -> str:
    return html.split('id="tasks"')[1].split("</section>")[0]


def test_the_tasks_section_lists_the_tickets_tasks(cast, ticket_a, as_agent_a):
    first = new_task(cast.admin, ticket=ticket_a, assignee=cast.agent_b)
    second = new_task(cast.admin, ticket=ticket_a, title="Call back")
    services.task_close(actor=cast.admin, task=second)
    gone = new_task(cast.admin, ticket=ticket_a, title="Mistake")
    services.task_delete(actor=cast.admin, task=gone)
    elsewhere = new_task(cast.admin, department=cast.dept_a, title="Standalone")
    section = _section(as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode())
    assert f'href="/scp/tasks/{first.number}/">#{first.number}</a>' in section
    assert cast.agent_b.display_name in section and ">Closed<" in section
    assert "Call back" in section and "Mistake" not in section and elsewhere.title not in section
    assert '<span class="count">2</span>' in section
    # the open one may be closed inline, the closed one not
    assert f"/tasks/{first.number}/close/" in section
    assert f"/tasks/{second.number}/close/" not in section


def test_the_ticket_thread_links_its_task_lines(cast, ticket_a, as_agent_a):
    task = new_task(cast.admin, ticket=ticket_a)
    html = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    event = html.split('class="event event-task_created"')[1].split("</li>")[0]
    assert f'<a href="/scp/tasks/{task.number}/">#{task.number}</a> Order the part' in event


def test_creating_a_task_from_the_section(cast, ticket_a, as_agent_a):
    form = CustomForm.objects.create(name="Task details", scope=CustomForm.Scope.TASK)
    CustomField.objects.create(form=form, name="part", label="Part number", kind="text")
    # the agent picker offers agents of other departments with visibility.agents
    cast.agent_a.permissions = ["visibility.agents"]
    cast.agent_a.save(update_fields=["permissions"])
    fragment = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/tasks/new/").content.decode()
    assert 'name="cf_part"' in fragment
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/tasks/new/",
        {
            "title": "Order the toner",
            "description": "Black, two of them.",
            "agent": cast.agent_b.pk,
            "due_at": "2099-03-01T09:00",
            "cf_part": "TN-2",
            "attachments": [SimpleUploadedFile("quote.txt", b"12 EUR")],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/scp/tickets/{ticket_a.number}/"
    task = Task.objects.get()
    assert (task.ticket, task.department, task.assignee) == (ticket_a, cast.dept_a, cast.agent_b)
    assert task.due_at.year == 2099
    assert TaskFieldValue.objects.get(task=task).value == "TN-2"
    entry = ThreadEntry.objects.get(thread_id=task.thread_id)
    assert (
        entry.body_text == "Black, two of them." and entry.attachments.get().filename == "quote.txt"
    )
    assert ThreadEvent.objects.get(thread_id=task.thread_id, kind="created").channel == "panel"
    page = as_agent_a.get(response["Location"]).content.decode()
    assert f"Task #{task.number} created." in page


def test_the_create_form_loads_as_a_fragment_and_answers_htmx_with_the_ticket(
    cast, ticket_a, as_agent_a
):
    url = f"/scp/tickets/{ticket_a.number}/tasks/new/"
    fragment = as_agent_a.get(url, **HTMX).content.decode()
    assert fragment.lstrip().startswith("<form") and 'name="title"' in fragment
    assert "<html" in as_agent_a.get(url).content.decode()
    response = as_agent_a.post(url, {"title": "Quick one"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="ticket"')
    assert "Quick one" in _section(html)


def test_a_refused_or_invalid_new_task_keeps_the_form_open_and_writes_nothing(
    cast, ticket_a, as_agent_a
):
    Department.objects.filter(pk=cast.dept_a.pk).update(assign_members_only=True)
    cast.agent_a.permissions = ["visibility.agents"]  # Bea in the picker, refused by the rule
    cast.agent_a.save(update_fields=["permissions"])
    before = rows()
    url = f"/scp/tickets/{ticket_a.number}/tasks/new/"
    response = as_agent_a.post(url, {"title": " ", "agent": cast.agent_b.pk})
    assert response.status_code == 422
    response = as_agent_a.post(url, {"title": "For Bea", "agent": cast.agent_b.pk})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Not a member of Support." in html
    assert '<details class="panel action" id="action-task" open>' in html
    assert 'value="For Bea"' in html
    assert rows() == before


def test_create_a_task_from_an_entry_takes_its_text_and_files(cast, as_agent_a):
    ticket = open_ticket(
        cast.alice,
        department=cast.dept_a,
        body="Please order part X-42.\nThanks",
        files=[attachment("photo.txt", b"pixels")],
    )
    entry = ThreadEntry.objects.get(thread_id=ticket.thread_id)
    page = as_agent_a.get(f"/scp/tickets/{ticket.number}/").content.decode()
    link = f"/scp/tickets/{ticket.number}/tasks/new/?entry={entry.pk}"
    assert f'href="{link}" data-action="create-task"' in page
    form = as_agent_a.get(link).content.decode()
    assert 'value="Please order part X-42."' in form  # the title, from the entry
    assert f'name="entry" value="{entry.pk}"' in form
    response = as_agent_a.post(
        f"/scp/tickets/{ticket.number}/tasks/new/",
        {"title": "Order X-42", "entry": entry.pk, "description": ""},
    )
    assert response.status_code == 302
    task = Task.objects.get()
    first = ThreadEntry.objects.get(thread_id=task.thread_id)
    assert "Please order part X-42." in first.body_text
    assert [a.filename for a in first.attachments.all()] == ["photo.txt"]
    assert Attachment.objects.filter(filename="photo.txt").count() == 2


def test_an_entry_of_another_ticket_is_refused(cast, ticket_a, ticket_b, as_agent_a):
    other = ThreadEntry.objects.get(thread_id=ticket_b.thread_id)
    url = f"/scp/tickets/{ticket_a.number}/tasks/new/"
    response = as_agent_a.get(f"{url}?entry={other.pk}")
    assert response.status_code == 400
    assert "No such entry on this ticket." in response.content.decode()
    assert as_agent_a.get(f"{url}?entry=abc").status_code == 400
    before = rows()
    response = as_agent_a.post(url, {"title": "Sneaky", "entry": other.pk})
    assert response.status_code == 422 and rows() == before
    response = as_agent_a.post(url, {"title": "Sneaky", "entry": "9" * 30})
    assert response.status_code == 422 and rows() == before


def test_closing_a_task_inline(cast, ticket_a, as_agent_a):
    task = new_task(cast.admin, ticket=ticket_a)
    response = as_agent_a.post(f"/scp/tickets/{ticket_a.number}/tasks/{task.number}/close/", **HTMX)
    assert response.status_code == 200
    assert f"Task #{task.number} closed." in response.content.decode()
    assert Task.objects.get(pk=task.pk).state == TaskState.CLOSED
    # a task of another ticket, through this one
    other = new_task(cast.admin, department=cast.dept_a)
    url = f"/scp/tickets/{ticket_a.number}/tasks/{other.number}/close/"
    assert as_agent_a.post(url).status_code == 404
    assert Task.objects.get(pk=other.pk).state == TaskState.OPEN


def test_a_view_only_agent_may_not_create_or_close_tasks(cast, ticket_a):
    task = new_task(cast.admin, ticket=ticket_a)
    viewer = signed_in(AgentFactory(department=cast.dept_a, role=role("View only")))
    html = viewer.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert "/tasks/new/" not in html and f"/tasks/{task.number}/close/" not in html
    assert f'href="/scp/tasks/{task.number}/"' in html
    before = rows()
    response = viewer.post(f"/scp/tickets/{ticket_a.number}/tasks/new/", {"title": "Nope"})
    assert response.status_code == 403
    assert "does not allow task.create" in response.content.decode()
    response = viewer.post(f"/scp/tickets/{ticket_a.number}/tasks/{task.number}/close/")
    assert response.status_code == 403
    assert rows() == before


def test_a_closed_ticket_offers_no_new_task(cast, ticket_a, as_agent_a):
    services.ticket_set_status(actor=cast.admin, ticket=ticket_a, status=status("Closed"))
    html = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert "/tasks/new/" not in html


# --- closing a ticket with open tasks -------------------------------------------------------
def test_the_status_form_names_the_open_tasks_and_refuses_the_close(cast, ticket_a, as_agent_a):
    task = new_task(cast.admin, ticket=ticket_a, title="Order the part")
    form = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/do/status/", **HTMX).content.decode()
    assert f'<a href="/scp/tasks/{task.number}/">#{task.number}</a> Order the part' in form
    assert 'name="close_tasks_too"' in form
    before = rows()
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/do/status/", {"status": status("Closed").pk}
    )
    assert response.status_code == 409
    html = response.content.decode()
    panel = html.split('id="action-status"')[1].split("</details>")[0]
    assert f"has open tasks: #{task.number} (Order the part). Close them first." in panel
    assert f'<a href="/scp/tasks/{task.number}/">#{task.number}</a>' in panel
    assert rows() == before


def test_closing_with_its_open_tasks_too(cast, ticket_a, as_agent_a):
    tasks = [new_task(cast.admin, ticket=ticket_a, title=t) for t in ("One", "Two")]
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/do/status/",
        {"status": status("Closed").pk, "close_tasks_too": "on"},
    )
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket_a.pk).state == "closed"
    assert {t.state for t in Task.objects.filter(pk__in=[t.pk for t in tasks])} == {"closed"}


def test_close_tasks_too_is_offered_only_to_who_may_close_them_all(cast, ticket_a):
    # a role that closes tickets but not tasks: Expanded Access without task.close
    custom = role("Expanded Access")
    custom.pk, custom.name = None, "Tickets only"
    custom.permissions = [p for p in custom.permissions if p != "task.close"]
    custom.save()
    agent = AgentFactory(department=cast.dept_a, role=custom)
    new_task(cast.admin, ticket=ticket_a)
    client = signed_in(agent)
    form = client.get(f"/scp/tickets/{ticket_a.number}/do/status/", **HTMX).content.decode()
    assert "data-open-tasks" in form and 'name="close_tasks_too"' not in form
    before = rows()
    response = client.post(
        f"/scp/tickets/{ticket_a.number}/do/status/",
        {"status": status("Closed").pk, "close_tasks_too": "on"},
    )
    assert response.status_code == 403
    assert "does not allow task.close" in response.content.decode()
    assert rows() == before


def test_bulk_close_reports_the_ticket_refused_with_its_tasks(cast, ticket_a):
    task = new_task(cast.admin, ticket=ticket_a, title="Order <b>it</b>")
    free = open_ticket(cast.alice, department=cast.dept_a, subject="No tasks")
    response = signed_in(cast.agent_a).post(
        "/scp/queues/bulk/",
        {
            "action": "status",
            "status": status("Closed").pk,
            "tickets": [ticket_a.number, free.number],
        },
        follow=True,
    )
    html = response.content.decode()
    assert "1 ticket(s) updated." in html
    refusal = html.split(f"#{ticket_a.number}: ")[1].split("</li>")[0]
    assert (
        f'<a href="/scp/tasks/{task.number}/">#{task.number}</a> (Order &lt;b&gt;it&lt;/b&gt;)'
        in refusal
    )
    assert Ticket.objects.get(pk=ticket_a.pk).state == "open"
    assert Ticket.objects.get(pk=free.pk).state == "closed"


# --- the query budget -----------------------------------------------------------------------------
def test_the_ticket_view_costs_the_same_number_of_queries_whatever_its_tasks(cast, ticket_a):
    client = signed_in(cast.agent_a)

    def count():
        client.get(f"/scp/tickets/{ticket_a.number}/")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/scp/tickets/{ticket_a.number}/").status_code == 200
        return len(ctx.captured_queries)

    new_task(cast.admin, ticket=ticket_a, assignee=cast.agent_b)
    one = count()
    for i in range(12):
        task = new_task(cast.admin, ticket=ticket_a, title=f"Task {i}", assignee=cast.manager_a)
        if i % 3 == 0:
            services.task_close(actor=cast.admin, task=task)
    assert count() == one
