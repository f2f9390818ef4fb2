"""The task list: keyset pagination, ordering, filters (a bad value is a 400) and its
query budget, constant in the page size."""

import datetime as dt

import pytest
from django.utils import timezone

from tickets import services
from tickets.models import CustomField, CustomForm, Task

from ..factories import TeamFactory, attachment, open_ticket
from .conftest import new_task, problem, queries_of, walk

TASKS = "/api/v1/tasks/"
BASE = timezone.now() - dt.timedelta(days=30)


@pytest.fixture
def many(cast):
    """30 tasks in Support with distinct, known creation and update times."""
    tasks = []
    for i in range(30):
        task = new_task(cast.admin, department=cast.dept_a, title=f"Task {i:02d}")
        when = BASE + dt.timedelta(hours=i)
        Task.objects.filter(pk=task.pk).update(created_at=when, updated_at=when)
        tasks.append(task)
    return tasks


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["number"] for t in response.json()["results"]]


def test_cursor_pages_cover_every_task_once_last_updated_first(api, cast, many):
    seen, pages = walk(api.agent(cast.agent_a), f"{TASKS}?page_size=7")

    assert seen == [t.number for t in reversed(many)]
    assert pages == 5


def test_ordering_is_whitelisted_and_walks_both_ways(api, cast, many):
    client = api.agent(cast.agent_a)
    seen, _ = walk(client, f"{TASKS}?page_size=8&ordering=created_at")
    assert seen == [t.number for t in many]

    second = client.get(client.get(f"{TASKS}?page_size=8").json()["next"]).json()
    back = client.get(second["previous"]).json()
    assert [t["number"] for t in back["results"]] == [t.number for t in reversed(many)][:8]

    refused = client.get(f"{TASKS}?ordering=title")
    assert refused.status_code == 400
    assert problem(refused)["errors"] == {
        "ordering": ["Choose one of: -updated_at, updated_at, -created_at, created_at."]
    }


def test_filters(api, cast, ticket_a):
    team = TeamFactory(members=[cast.agent_a])
    soon, later = timezone.now() + dt.timedelta(days=1), timezone.now() + dt.timedelta(days=9)
    mine = new_task(cast.admin, department=cast.dept_a, title="Order the blue part")
    mine = services.task_assign(actor=cast.admin, task=mine, agent=cast.agent_a)
    of_ticket = new_task(cast.admin, ticket=ticket_a, title="Call the client", due_at=soon)
    of_team = new_task(
        cast.admin, department=cast.dept_b, title="Team work", team=team, due_at=later
    )
    closed = new_task(cast.admin, department=cast.dept_a, title="Order the red part")
    services.task_close(actor=cast.admin, task=closed)
    late = new_task(cast.admin, department=cast.dept_a, title="Late")
    Task.objects.filter(pk=late.pk).update(is_overdue=True)
    client = api.agent(cast.agent_a)

    def found(**query):
        return set(numbers(client.get(TASKS, query)))

    assert found(state="closed") == {closed.number}
    assert found(state=["open", "closed"]) == {
        t.number for t in (mine, of_ticket, of_team, closed, late)
    }
    assert found(department=cast.dept_b.pk) == {of_team.number}
    assert found(assignee="me") == found(assignee=cast.agent_a.pk) == {mine.number}
    assert mine.number not in found(assignee="none")
    assert found(team=team.pk) == {of_team.number}
    assert found(ticket=ticket_a.number) == {of_ticket.number}
    assert found(ticket="000000") == set()
    assert found(overdue="true") == {late.number}
    assert found(due_before=(soon + dt.timedelta(hours=1)).isoformat()) == {of_ticket.number}
    assert found(due_after=(soon + dt.timedelta(hours=1)).isoformat()) == {of_team.number}
    assert found(q="order part") == {mine.number, closed.number}
    assert found(q="blue") == {mine.number}
    assert found(q=late.number) == {late.number}


def test_bad_filter_values_are_400s_naming_the_parameter(api, cast):
    client = api.agent(cast.agent_a)

    for query, name in [
        ("state=bogus", "state"),
        ("assignee=someone", "assignee"),
        ("due_before=yesterday", "due_before"),
        ("department=abc", "department"),
        ("ticket=no%20such", "ticket"),
        ("overdue=maybe", "overdue"),
        ("ticket=", "ticket"),
        ("q=a&q=b", "q"),
        ("subject=x", "subject"),
    ]:
        response = client.get(f"{TASKS}?{query}")
        assert response.status_code == 400, query
        body = problem(response)
        assert body["code"] == "invalid" and name in body["errors"], (query, body)


def test_the_task_list_costs_the_same_queries_whatever_the_page_size(
    api, cast, django_assert_num_queries
):
    form = CustomForm.objects.create(name="Task Details", scope=CustomForm.Scope.TASK)
    CustomField.objects.create(form=form, name="part", label="Part")
    team = TeamFactory(members=[cast.agent_a])
    for i in range(30):  # every related row present, and different on each task
        ticket = open_ticket(cast.alice, department=cast.dept_a, subject=f"Ticket {i}")
        new_task(
            cast.agent_a,
            ticket=ticket,
            assignee=cast.agent_a if i % 2 else cast.manager_a,
            team=team,
            custom_fields={"part": f"P-{i}"},
        )
    client = api.agent(cast.agent_a)
    client.get(TASKS)  # token row touched once

    small = queries_of(client, f"{TASKS}?page_size=2")
    with django_assert_num_queries(small):
        body = client.get(f"{TASKS}?page_size=30").json()
    assert len(body["results"]) == 30
    assert {t["custom_fields"]["part"] for t in body["results"]} == {f"P-{i}" for i in range(30)}
    # the token, the agent's department accesses, the page, then one query each for the
    # departments, assignees, teams, creators, tickets and field values
    assert small == 9


def test_the_task_thread_costs_the_same_queries_whatever_the_page_size(
    api, cast, task_a, django_assert_num_queries
):
    for i in range(12):
        services.task_post_update(
            actor=cast.agent_a, task=task_a, body=f"update {i}", files=[attachment(f"{i}.txt")]
        )
    client = api.agent(cast.agent_a)
    path = f"{TASKS}{task_a.number}/entries/"
    client.get(path)

    small = queries_of(client, f"{path}?page_size=2")
    with django_assert_num_queries(small):
        body = client.get(f"{path}?page_size=13").json()
    assert len(body["results"]) == 13


def test_the_tickets_task_list_costs_the_same_queries_however_many_tasks(
    api, cast, ticket_a, django_assert_num_queries
):
    client = api.agent(cast.agent_a)
    path = f"/api/v1/tickets/{ticket_a.number}/tasks/"
    new_task(cast.agent_a, ticket=ticket_a)
    one = queries_of(client, path)
    for i in range(10):
        new_task(cast.agent_a, ticket=ticket_a, title=f"Task {i}", assignee=cast.agent_a)

    with django_assert_num_queries(one):
        assert len(client.get(path).json()) == 11
