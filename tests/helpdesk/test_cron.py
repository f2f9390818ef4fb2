import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from helpdesk import cron
from helpdesk.tasks import run_cron_job_task
from threads.models import Draft, StoredFile
from threads.services import file_store

from ..factories import AgentFactory


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
