"""Every run of a periodic job is recorded, whichever way it ran: Celery (beat), run_cron
once, run_cron --loop, and the osTicket cron endpoint; a failure with its error."""

import threading
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create
from helpdesk import cron
from helpdesk.ops.models import JobRun, JobState, Result
from helpdesk.tasks import run_cron_job_task


def boom():
    raise RuntimeError("IMAP server said no")


@pytest.fixture
def jobs():
    with mock.patch.dict(cron.JOBS, {"good": lambda: 7, "bad": boom}, clear=True):
        yield


def test_a_celery_run_is_recorded_with_its_count_and_duration(db, jobs):
    assert run_cron_job_task.delay("good").get() == 7

    run = JobRun.objects.get()
    assert (run.job, run.via, run.result, run.count, run.error) == (
        "good",
        "celery",
        Result.OK,
        7,
        "",
    )
    assert run.finished_at >= run.started_at and run.duration_ms is not None
    state = JobState.objects.get(job="good")
    assert (state.last_result, state.last_started_at, state.failing_since) == (
        Result.OK,
        run.started_at,
        None,
    )
    assert state.last_ok_at == run.finished_at


def test_a_failing_celery_run_is_recorded_with_its_error(db, jobs):
    with pytest.raises(RuntimeError):
        run_cron_job_task.delay("bad").get()

    run = JobRun.objects.get()
    assert (run.via, run.result, run.error) == (
        "celery",
        Result.FAILED,
        "RuntimeError: IMAP server said no",
    )
    state = JobState.objects.get(job="bad")
    assert state.last_result == Result.FAILED
    assert state.failing_since == run.started_at and state.last_ok_at is None


def test_run_cron_records_each_job_and_the_failure(db, jobs):
    with pytest.raises(CommandError):
        call_command("run_cron", stdout=StringIO(), stderr=StringIO())

    runs = {r.job: r for r in JobRun.objects.all()}
    assert set(runs) == {"good", "bad"}
    assert {r.via for r in runs.values()} == {"command"}
    assert (runs["good"].result, runs["bad"].result) == (Result.OK, Result.FAILED)
    assert runs["bad"].error == "RuntimeError: IMAP server said no"


def test_run_cron_loop_records_its_runs(db):
    """The loop's main-thread job (the others run the same way, in threads of their own;
    an in-memory test database is not shared with threads)."""
    stop = threading.Event()
    reported = []

    def report(name, exc):
        reported.append(name)
        stop.set()  # one round is enough

    with (
        mock.patch.dict(cron.JOBS, {cron.MAIN_THREAD_JOB: boom}, clear=True),
        mock.patch.object(cron.connection, "close"),  # the test's own connection stays
    ):
        cron.run_loop([cron.MAIN_THREAD_JOB], stop, report=report)

    run = JobRun.objects.get()
    assert (run.job, run.via, run.result) == (cron.MAIN_THREAD_JOB, "loop", Result.FAILED)
    assert run.error == "RuntimeError: IMAP server said no"
    assert reported == [cron.MAIN_THREAD_JOB]


def test_the_osticket_cron_endpoint_records_its_runs(db, jobs):
    secret = api_key_create(
        actor=SYSTEM, name="cron", allowed_ips=["127.0.0.1"], can_exec_cron=True
    )[1]

    response = Client().post(
        "/api/tasks/cron", "", content_type="text/plain", HTTP_X_API_KEY=secret
    )

    assert response.status_code == 503
    assert sorted(JobRun.objects.values_list("job", "via", "result")) == [
        ("bad", "api", Result.FAILED),
        ("good", "api", Result.OK),
    ]


def test_a_success_after_failures_ends_the_failing_streak(db):
    calls = iter([boom, boom, lambda: 1])
    with mock.patch.dict(cron.JOBS, {"flaky": lambda: next(calls)()}, clear=True):
        for _ in range(2):
            with pytest.raises(RuntimeError):
                cron.run_job("flaky")
        first_failure = JobRun.objects.order_by("started_at").first().started_at
        assert JobState.objects.get().failing_since == first_failure
        cron.run_job("flaky")

    state = JobState.objects.get()
    assert (state.last_result, state.failing_since, state.last_error) == (Result.OK, None, "")
    assert JobRun.objects.count() == 3


def test_a_skipped_run_records_nothing(db, jobs):
    lock = cron.JobLock("good")
    assert lock.take()
    try:
        assert cron.run_job("good") is None
    finally:
        lock.release()
    assert not JobRun.objects.exists()


def test_a_job_runs_even_when_its_run_cannot_be_recorded(db, jobs):
    from django.db import OperationalError

    with mock.patch.object(JobRun.objects, "create", side_effect=OperationalError("down")):
        assert cron.run_job("good") == 7

    assert not JobRun.objects.exists() and not JobState.objects.exists()
