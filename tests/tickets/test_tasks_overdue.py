"""The overdue sweep marks tasks too: the same two paths (portable and one PostgreSQL
statement per batch), an `overdue` event on each task's thread, `tasks_overdue` once per
batch."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from helpdesk import cron
from threads.models import ThreadEvent
from tickets import services, signals
from tickets.models import Task
from tickets.services import overdue

NOW = timezone.now()


@pytest.fixture
def tasks(cast):
    def make(title, due_hours, **kw):
        return services.task_create(
            actor=cast.admin,
            new=services.NewTask(
                title=title,
                department=cast.dept_a,
                due_at=None if due_hours is None else NOW + dt.timedelta(hours=due_hours),
                **kw,
            ),
        )

    made = {
        "past": make("past", -2),
        "long past": make("long past", -48),
        "future": make("future", 2),
        "no due date": make("no due date", None),
        "closed": make("closed", -2),
    }
    services.task_close(actor=cast.admin, task=made["closed"])
    return made


def outcome() -> dict:
    events = {
        e.thread_id: (e.data, e.actor_label, e.channel)
        for e in ThreadEvent.objects.filter(kind="overdue")
    }
    return {
        t.title: (t.is_overdue, t.version, events.get(t.thread_id))
        for t in Task.objects.order_by("pk")
    }


def run(batch) -> tuple[dict, list[int]]:
    with transaction.atomic():
        ids, _ = batch(NOW, 100, overdue.TASKS)
        result = outcome()
        transaction.set_rollback(True)
    return result, ids


def test_the_portable_path_marks_open_tasks_past_their_due_date(tasks):
    before = outcome()
    result, ids = run(overdue._sweep_batch)
    assert set(Task.objects.filter(pk__in=ids).values_list("title", flat=True)) == {
        "past",
        "long past",
    }
    for title in ("past", "long past"):
        due = tasks[title].due_at.astimezone(dt.UTC).isoformat(timespec="seconds")
        assert result[title] == (
            True,
            before[title][1] + 1,
            ({"due_at": due, "escalated": {}}, "system", "system"),
        )
    for title in ("future", "no due date", "closed"):
        assert result[title] == before[title]


@pytest.mark.postgres
def test_the_one_statement_path_leaves_the_same_rows(tasks, django_assert_num_queries):
    portable, portable_ids = run(overdue._sweep_batch)
    with transaction.atomic(), django_assert_num_queries(1):
        ids, _ = overdue._sweep_batch_sql(NOW, 100, overdue.TASKS)
        transaction.set_rollback(True)
    one_statement, sql_ids = run(overdue._sweep_batch_sql)
    assert one_statement == portable
    assert sorted(sql_ids) == sorted(portable_ids) == sorted(ids)


def test_the_cron_job_sweeps_tasks_once_and_announces_the_batch(
    tasks, django_capture_on_commit_callbacks
):
    received = []
    signals.tasks_overdue.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert cron.overdue_sweep() == 2
            assert cron.overdue_sweep() == 0  # once: the flag is set
    finally:
        signals.tasks_overdue.disconnect(dispatch_uid="t")
    assert len(received) == 1
    assert sorted(received[0]["task_ids"]) == sorted([tasks["past"].pk, tasks["long past"].pk])
    # a new due date clears the flag, so the task can fall due again
    edited = services.task_edit(
        actor=tasks["past"].created_by,
        task=tasks["past"],
        due_at=timezone.now() + dt.timedelta(days=1),
    )
    assert edited.is_overdue is False


def test_marking_a_task_overdue_keeps_its_last_updated(tasks):
    before = Task.objects.get(pk=tasks["past"].pk)
    assert services.tasks_mark_overdue(now=NOW + dt.timedelta(minutes=5)) == 2
    after = Task.objects.get(pk=tasks["past"].pk)
    assert after.is_overdue and after.updated_at == before.updated_at
