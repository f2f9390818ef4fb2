import concurrent.futures
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from helpdesk import cron
from helpdesk.tasks import run_cron_job_task
from threads.models import Draft, StoredFile
from threads.services import file_store

from ..factories import AgentFactory
from ..redis_process import pointed_at


def test_run_cron_runs_every_job_once(db):
    agent = AgentFactory()
    old = Draft.objects.create(agent=agent, namespace="ticket.1.reply", body="old")
    Draft.objects.filter(pk=old.pk).update(updated_at=timezone.now() - dt.timedelta(days=15))
    Draft.objects.create(agent=agent, namespace="ticket.2.reply", body="new")
    orphan = file_store(content=b"nobody uses me")
    StoredFile.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - dt.timedelta(days=2))

    out = StringIO()
    call_command("run_cron", stdout=out)

    assert "purge_drafts: 1" in out.getvalue()
    assert "purge_orphan_files: 1" in out.getvalue()
    assert list(Draft.objects.values_list("namespace", flat=True)) == ["ticket.2.reply"]
    assert not StoredFile.objects.exists()
    # a second pass finds nothing left to do
    out = StringIO()
    call_command("run_cron", stdout=out)
    assert "purge_drafts: 0" in out.getvalue() and "purge_orphan_files: 0" in out.getvalue()


def test_unknown_jobs_are_refused(db):
    with pytest.raises(CommandError):
        call_command("run_cron", "no_such_job")


def test_the_celery_task_runs_the_job(db):
    assert run_cron_job_task.delay("purge_drafts").get() == 0


def test_every_job_has_a_beat_schedule(settings):
    assert set(settings.HELPDESK_CRON) == set(cron.JOBS)
    tasks = {entry["args"][0] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks == set(cron.JOBS)


def test_a_job_already_running_is_skipped_not_run_twice(db):
    from django.core.cache import cache

    cache.add("helpdesk:cron:purge_drafts", "running", 60)
    assert cron.run_job("purge_drafts") is None
    cache.delete("helpdesk:cron:purge_drafts")
    assert cron.run_job("purge_drafts") == 0


def test_the_overdue_sweep_and_lock_purge_are_cron_jobs(db):
    assert {
        "overdue_sweep",
        "purge_locks",
        "purge_drafts",
        "purge_orphan_files",
        "purge_sessions",
    } <= set(cron.JOBS)
    assert cron.run_job("overdue_sweep") == 0
    assert cron.run_job("purge_locks") == 0


def test_a_run_longer_than_its_interval_keeps_its_lock_and_releases_it_at_the_end(
    transactional_db, django_db_serialized_rollback, settings, monkeypatch
):
    # transactional: the first run happens on another thread, whose connection commits
    # its JobRun and JobState rows; the database is emptied after the test, not left
    # holding them for the next one.
    settings.HELPDESK_CRON = {**settings.HELPDESK_CRON, "purge_drafts": 1}
    started, finish, runs = threading.Event(), threading.Event(), []

    def slow():
        runs.append("slow")
        started.set()
        finish.wait(10)
        return 7

    monkeypatch.setitem(cron.JOBS, "purge_drafts", slow)

    def in_thread():
        try:
            return cron.run_job("purge_drafts")
        finally:
            connection.close()

    first = concurrent.futures.ThreadPoolExecutor(1).submit(in_thread)
    assert started.wait(5)
    time.sleep(1.5)  # longer than the interval: the lock was renewed

    assert cron.run_job("purge_drafts") is None
    finish.set()
    assert first.result(5) == 7
    monkeypatch.setitem(cron.JOBS, "purge_drafts", lambda: 0)
    assert cron.run_job("purge_drafts") == 0
    assert runs == ["slow"]


KILLED_RUN = """
import sys, time
import django
django.setup()
from helpdesk import cron

def hang():
    print("running", flush=True)
    time.sleep(60)

cron.JOBS["fetch_mail"] = hang
cron.run_job("fetch_mail")
"""


def test_a_killed_run_blocks_the_job_for_one_interval_at_most(
    db, redis_process, settings, monkeypatch
):
    """The worker running fetch_mail is killed (SIGKILL: no `finally`): its lock is left
    in Redis. The redelivered task and the next beat ticks run the job again within
    one interval of the job, not half an hour later."""
    settings.HELPDESK_CRON = {**settings.HELPDESK_CRON, "fetch_mail": 1}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": redis_process.url(1),
        "CRON_FETCH_MAIL_SECONDS": "1",
    }
    env.pop("DATABASE_URL", None)  # the job touches no database
    child = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", KILLED_RUN],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "running\n"
    time.sleep(1.2)  # the live run renews its lock past its interval
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    killed = time.monotonic()
    runs = []
    monkeypatch.setitem(cron.JOBS, "fetch_mail", lambda: runs.append(1) or 3)

    with pointed_at(redis_process, settings):
        assert redis_process.client(1).exists(":1:helpdesk:cron:fetch_mail") == 1
        assert cron.run_job("fetch_mail") is None  # the lock is still there
        while cron.run_job("fetch_mail") is None:
            assert time.monotonic() - killed < 1.5, "the dead run's lock outlived its interval"
            time.sleep(0.05)

    assert runs == [1]


def _loop_in_background(names, stop, report=None) -> threading.Thread:
    thread = threading.Thread(target=cron.run_loop, args=(names, stop, report), daemon=True)
    thread.start()
    return thread


def _wait(predicate, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_loop_runs_each_job_beside_the_others_so_a_long_drain_delays_nothing(
    monkeypatch, settings
):
    release, stop = threading.Event(), threading.Event()
    fast_runs, drain_runs = [], []

    def slow_drain():
        drain_runs.append(threading.current_thread().name)
        release.wait(20)  # a drain of many rows, or a slow SMTP peer
        return 0

    monkeypatch.setitem(cron.JOBS, "outbox_drain", slow_drain)
    monkeypatch.setitem(cron.JOBS, "fast", lambda: fast_runs.append(time.monotonic()) or 0)
    settings.HELPDESK_CRON = {**settings.HELPDESK_CRON, "fast": 1, "outbox_drain": 60}

    loop = _loop_in_background(["outbox_drain", "fast"], stop)
    try:
        # the sweep-like job keeps its interval while the drain is stuck
        assert _wait(lambda: len(fast_runs) >= 3), fast_runs
        assert drain_runs == [loop.name] and not release.is_set()
    finally:
        stop.set()
        release.set()
        loop.join(10)
    assert not loop.is_alive()


def test_a_failing_job_is_reported_and_runs_again_at_its_next_interval(monkeypatch, settings):
    stop, reports, ran = threading.Event(), [], []

    def broken():
        ran.append(1)
        raise RuntimeError("the mailbox answered nonsense")

    monkeypatch.setitem(cron.JOBS, "broken", broken)
    monkeypatch.setitem(cron.JOBS, "fine", lambda: ran.append(2) or 0)
    settings.HELPDESK_CRON = {**settings.HELPDESK_CRON, "broken": 1, "fine": 1}

    loop = _loop_in_background(["broken", "fine"], stop, lambda n, e: reports.append((n, e)))
    try:
        assert _wait(lambda: len(reports) >= 2), reports
        assert _wait(lambda: ran.count(2) >= 2), ran
    finally:
        stop.set()
        loop.join(10)
    assert {name for name, _ in reports} == {"broken"}
    assert all(isinstance(exc, RuntimeError) for _, exc in reports)
