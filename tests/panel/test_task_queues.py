"""Task queues (/scp/tasks/): which tasks each tab holds, bounded counts (the tabs and the
header's "Tasks" link), keyset pages and sorting, search by number and words, bulk
actions with their refusals per task, and the query budget of a queue page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.panel.models import AgentPreferences
from threads.models import ThreadEvent
from tickets import services
from tickets.models import Task, TaskState

from ..factories import AgentFactory, TeamFactory, role
from .conftest import new_task, signed_in

pytestmark = pytest.mark.django_db


def _numbers(html: str) -> list[str]:
    """Task numbers of a task table, in order."""
    return [chunk.split("</a>")[0] for chunk in html.split('class="number">#')[1:]]


def _tasks(cast, n, dept=None, **kw) -> list[Task]:
    return [
        new_task(cast.admin, department=dept or cast.dept_a, title=f"Task {i}", **kw)
        for i in range(n)
    ]


def _count(html: str, slug: str) -> str:
    return html.split(f'data-task-queue="{slug}"')[1].split('<span class="count">')[1].split("<")[0]


def test_each_queue_holds_its_visible_tasks(cast, ticket_b):
    team = TeamFactory(members=[cast.agent_a])
    plain, mine, teams, overdue, closed = _tasks(cast, 5)
    services.task_assign(actor=cast.admin, task=mine, agent=cast.agent_a)
    services.task_assign(actor=cast.admin, task=teams, team=team)
    Task.objects.filter(pk=overdue.pk).update(is_overdue=True)  # as the sweep would
    services.task_close(actor=cast.admin, task=closed)
    billing = _tasks(cast, 1, cast.dept_b)[0]
    deleted = _tasks(cast, 1)[0]
    services.task_delete(actor=cast.admin, task=deleted)
    client = signed_in(cast.agent_a)
    html = client.get("/scp/tasks/").content.decode()
    assert set(_numbers(html)) == {t.number for t in (plain, mine, teams, overdue)}
    assert billing.number not in _numbers(html) and deleted.number not in _numbers(html)
    for slug, expected in {
        "open": {plain, mine, teams, overdue},
        "mine": {mine},
        "teams": {teams},
        "overdue": {overdue},
        "closed": {closed},
    }.items():
        page = client.get(f"/scp/tasks/queues/{slug}/").content.decode()
        assert set(_numbers(page)) == {t.number for t in expected}, slug
        assert _count(page, slug) == str(len(expected))
    assert client.get("/scp/tasks/queues/deleted/").status_code == 404
    assert 'class="overdue"' in client.get("/scp/tasks/queues/overdue/").content.decode()


def test_the_header_link_counts_the_agents_open_tasks_on_every_page(cast, ticket_a):
    for task in _tasks(cast, 3):
        services.task_assign(actor=cast.admin, task=task, agent=cast.agent_a)
    services.task_close(actor=cast.admin, task=Task.objects.first())
    client = signed_in(cast.agent_a)
    for url in ("/scp/", f"/scp/tickets/{ticket_a.number}/", "/scp/tasks/queues/closed/"):
        html = client.get(url).content.decode()
        link = html.split('data-nav="tasks"')[1].split("</a>")[0]
        assert '<span class="count" title="My open tasks">2</span>' in link, url


def test_counts_are_bounded(cast, monkeypatch):
    from helpdesk import counts

    _tasks(cast, 4)
    monkeypatch.setattr(counts, "COUNT_CAP", 2)
    html = signed_in(cast.agent_a).get("/scp/tasks/").content.decode()
    assert _count(html, "open") == "3"  # cap + 1: "more than 2"


def test_keyset_pages_walk_every_task_once_and_back(cast):
    AgentPreferences.objects.create(agent=cast.agent_a, page_size=10)
    tasks = _tasks(cast, 23)
    client, seen, url = signed_in(cast.agent_a), [], "/scp/tasks/queues/open/?sort=number"
    while url:
        html = client.get(url).content.decode()
        seen += _numbers(html)
        nxt = html.split('rel="next" href="')[1].split('"')[0] if 'rel="next"' in html else None
        url = "/scp/tasks/queues/open/" + nxt.replace("&amp;", "&") if nxt else None
    assert seen == sorted(t.number for t in tasks)
    prev = html.split('rel="prev" href="')[1].split('"')[0].replace("&amp;", "&")
    assert _numbers(client.get("/scp/tasks/queues/open/" + prev).content.decode()) == seen[10:20]


def test_sorting_and_htmx_gets_only_the_table(cast):
    a, b = _tasks(cast, 2)
    services.task_edit(actor=cast.admin, task=a, title="Zebra")
    services.task_edit(actor=cast.admin, task=b, title="Aardvark")
    client = signed_in(cast.agent_a)
    assert _numbers(client.get("/scp/tasks/?sort=title").content.decode()) == [b.number, a.number]
    response = client.get("/scp/tasks/?sort=-title", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="task-queue"') and 'id="sidebar"' not in html
    assert _numbers(html) == [a.number, b.number]


@pytest.mark.parametrize("query", ["sort=bogus", "cursor=garbage!!", "sort=title&sort=number"])
def test_a_malformed_query_is_a_400_with_the_first_page(cast, query):
    task = _tasks(cast, 1)[0]
    response = signed_in(cast.agent_a).get(f"/scp/tasks/?{query}")
    assert response.status_code == 400
    assert response.context["query_errors"]
    assert _numbers(response.content.decode()) == [task.number]


# --- search --------------------------------------------------------------------------------------
def test_a_number_opens_the_task_and_words_search_titles_and_updates(cast):
    vendor, other = _tasks(cast, 2)
    services.task_edit(actor=cast.admin, task=vendor, title="Call the vendor")
    services.task_post_update(actor=cast.admin, task=other, body="The vendor called back.")
    hidden = new_task(cast.admin, department=cast.dept_b, title="Vendor in Billing")
    client = signed_in(cast.agent_a)
    response = client.get(f"/scp/tasks/search/?q=%23{vendor.number}")
    assert response.status_code == 302 and response["Location"] == f"/scp/tasks/{vendor.number}/"
    html = client.get("/scp/tasks/search/?q=vendor").content.decode()
    assert _numbers(html) == [other.number, vendor.number]  # the last updated first
    assert "2 tasks match" in html
    # a task the agent may not see is not found, by number or by words
    assert client.get(f"/scp/tasks/search/?q={hidden.number}").status_code == 200
    assert hidden.number not in _numbers(
        client.get("/scp/tasks/search/?q=Billing").content.decode()
    )


def test_a_search_given_twice_is_a_400(cast):
    response = signed_in(cast.agent_a).get("/scp/tasks/search/?q=a&q=b")
    assert response.status_code == 400
    assert "Give this parameter once." in response.content.decode()


# --- bulk actions ---------------------------------------------------------------------------------
def _bulk(client, action, tasks, **data):
    return client.post(
        "/scp/tasks/bulk/",
        {"action": action, "tasks": [t.number for t in tasks], "next": "/scp/tasks/", **data},
        follow=True,
    )


def test_bulk_assign_transfer_close_and_delete_go_through_the_services(cast):
    a, b = _tasks(cast, 2)
    admin = signed_in(cast.admin)
    html = _bulk(admin, "assign", [a, b], agent=cast.agent_a.pk).content.decode()
    assert "2 task(s) updated." in html
    assert {t.assignee_id for t in Task.objects.all()} == {cast.agent_a.pk}
    assert ThreadEvent.objects.filter(kind="assigned", channel="panel").count() == 2
    _bulk(admin, "close", [a])
    assert Task.objects.get(pk=a.pk).state == TaskState.CLOSED
    _bulk(admin, "transfer", [b], department=cast.dept_b.pk)
    assert Task.objects.get(pk=b.pk).department == cast.dept_b
    _bulk(admin, "delete", [a, b])
    assert set(Task.objects.values_list("state", flat=True)) == {TaskState.DELETED}


def test_bulk_reports_each_refusal_with_its_task_and_does_the_rest(cast):
    limited = AgentFactory(department=cast.dept_a, role=role("Limited Access"))
    team = TeamFactory(members=[limited])
    ok, closed = _tasks(cast, 2)
    services.task_close(actor=cast.admin, task=closed)
    hidden = _tasks(cast, 1, cast.dept_b)[0]
    client = signed_in(limited)
    html = _bulk(client, "assign", [ok, closed, hidden], team=team.pk).content.decode()
    assert "1 task(s) updated." in html
    assert f"#{closed.number}: Task #{closed.number} is closed: cannot assign." in html
    assert f"#{hidden.number}: task not found." in html
    assert Task.objects.get(pk=ok.pk).team == team
    assert Task.objects.get(pk=hidden.pk).team is None
    before = ThreadEvent.objects.count()
    html = _bulk(client, "close", [ok]).content.decode()
    assert f"#{ok.number}: Your role in Support does not allow task.close." in html
    assert Task.objects.get(pk=ok.pk).state == TaskState.OPEN
    assert ThreadEvent.objects.count() == before


def test_bulk_actions_shown_are_those_the_agents_roles_allow(cast):
    _tasks(cast, 1)
    limited = AgentFactory(department=cast.dept_a, role=role("Limited Access"))
    html = signed_in(limited).get("/scp/tasks/").content.decode()
    bulk = html.split('name="action"')[1].split("</select>")[0]
    assert 'value="assign"' in bulk and 'value="transfer"' in bulk
    assert 'value="close"' not in bulk and 'value="delete"' not in bulk
    viewer = AgentFactory(department=cast.dept_a, role=role("View only"))
    assert 'name="action"' not in signed_in(viewer).get("/scp/tasks/").content.decode()


def test_an_invalid_bulk_form_changes_nothing(cast):
    task = _tasks(cast, 1)[0]
    before = ThreadEvent.objects.count()
    html = _bulk(signed_in(cast.admin), "assign", [task]).content.decode()
    assert "Choose an agent or a team." in html
    assert ThreadEvent.objects.count() == before and Task.objects.get().assignee is None


# --- the query budget ----------------------------------------------------------------------------
def test_a_task_queue_costs_the_same_number_of_queries_whatever_its_size(cast, ticket_a):
    team = TeamFactory(members=[cast.agent_a])
    prefs = AgentPreferences.objects.create(agent=cast.agent_a, page_size=10)
    client = signed_in(cast.agent_a)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/scp/tasks/").status_code == 200
        return len(ctx.captured_queries)

    for i, task in enumerate(_tasks(cast, 10)):
        services.task_assign(actor=cast.admin, task=task, agent=cast.manager_a, team=team)
        if i % 2:
            new_task(cast.admin, ticket=ticket_a, title=f"Of the ticket {i}")
    count()  # the first visit fills the configuration cache (the pickers: panel.pickers)
    small = count()
    _tasks(cast, 40)
    prefs.page_size = 50
    prefs.save()
    assert count() == small


# --- a standalone task ----------------------------------------------------------------------
def test_a_standalone_task_from_the_new_task_page(cast):
    client = signed_in(cast.agent_a)
    assert 'href="/scp/tasks/new/"' in client.get("/scp/tasks/").content.decode()
    assert client.get("/scp/tasks/new/").status_code == 200
    response = client.post(
        "/scp/tasks/new/", {"title": "Renew the certificate", "department": cast.dept_a.pk}
    )
    task = Task.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/scp/tasks/{task.number}/"
    assert (task.ticket, task.department, task.created_by) == (None, cast.dept_a, cast.agent_a)


def test_a_refused_standalone_task_writes_nothing(cast):
    before = (Task.objects.count(), ThreadEvent.objects.count())
    client = signed_in(cast.agent_a)
    response = client.post("/scp/tasks/new/", {"title": "Where does it go?"})
    assert response.status_code == 422  # no department, and no default task department
    assert "Choose a department for the task." in response.content.decode()
    response = client.post("/scp/tasks/new/", {"title": "Theirs", "department": cast.dept_b.pk})
    assert response.status_code == 403
    assert "Your role in Billing does not allow task.create." in response.content.decode()
    assert (Task.objects.count(), ThreadEvent.objects.count()) == before


@pytest.mark.postgres
def test_the_title_search_stems_and_uses_its_full_text_index(cast):
    calling = new_task(cast.admin, department=cast.dept_a, title="Calling the vendors")
    new_task(cast.admin, department=cast.dept_a, title="Order paper")
    client = signed_in(cast.agent_a)
    html = client.get("/scp/tasks/search/?q=vendor+call").content.decode()
    assert _numbers(html) == [calling.number]
    with connection.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute(
            "EXPLAIN SELECT id FROM tickets_task WHERE "
            "to_tsvector('english'::regconfig, COALESCE(title, '')) "
            "@@ websearch_to_tsquery('english'::regconfig, 'vendor')"
        )
        plan = " ".join(r[0] for r in cur.fetchall())
        cur.execute("SET enable_seqscan = on")
    assert "panel_task_title_fts" in plan


def test_mine_and_my_teams_hold_assigned_tasks_of_any_department_and_nothing_else(cast):
    """These tabs are read without the department conditions of the visibility (an
    assignment makes a task visible): a task of a department the agent cannot access is
    there when it is assigned to them or their team, and nothing else is."""
    team, other_team = TeamFactory(members=[cast.agent_a]), TeamFactory()
    mine, ours, theirs, deleted, closed = _tasks(cast, 5, cast.dept_b)
    services.task_assign(actor=cast.admin, task=mine, agent=cast.agent_a)
    services.task_assign(actor=cast.admin, task=ours, team=team)
    services.task_assign(actor=cast.admin, task=theirs, team=other_team)
    for task in (deleted, closed):
        services.task_assign(actor=cast.admin, task=task, agent=cast.agent_a, team=team)
    services.task_delete(actor=cast.admin, task=Task.objects.get(pk=deleted.pk))
    services.task_close(actor=cast.admin, task=Task.objects.get(pk=closed.pk))
    client = signed_in(cast.agent_a)
    for slug, expected in {"mine": [mine], "teams": [ours]}.items():
        page = client.get(f"/scp/tasks/queues/{slug}/").content.decode()
        assert _numbers(page) == [t.number for t in expected], slug
        assert _count(page, slug) == "1"
    # a team the agent is not in gives nothing, whatever the panel passes
    from tickets.selectors import tasks_assigned_to

    assert not tasks_assigned_to(user=cast.agent_a, teams=[other_team.pk]).exists()


def test_the_task_table_cells_follow_the_columns(cast):
    from helpdesk.panel.task_queues import COLUMNS

    task = _tasks(cast, 1)[0]
    html = signed_in(cast.agent_a).get("/scp/tasks/").content.decode()
    row = html.split("<tbody>")[1].split("</tr>")[0]
    cells = [chunk.split('"')[0] for chunk in row.split('<td class="col-')[1:]]
    assert cells == [key for key, _label, _sort in COLUMNS]
    assert f'data-label="Title"><a href="/scp/tasks/{task.number}/">{task.title}</a>' in row
