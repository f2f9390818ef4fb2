"""Export jobs: started over the threshold through the outbox, run once whatever the
number of deliveries, handed to a worker as their own task when there is a broker."""

import pytest
from django.core.files.storage import default_storage

from helpdesk.exports import registry, services, tasks
from helpdesk.exports.models import ExportJob
from helpdesk.outbox.models import OutboxTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(monkeypatch, settings):
    settings.EXPORT_SYNC_MAX_ROWS = 1
    rows = [["1", "=one"], ["2", "two"]]
    monkeypatch.setitem(
        registry.SOURCES,
        "test.rows",
        lambda user, params: registry.rows_table(name="rows", header=["n", "word"], rows=rows),
    )


def test_over_the_threshold_a_job_is_queued_in_the_outbox(cast, source):
    started = services.export_start(actor=cast.agent_a, kind="test.rows", params={}, format="csv")
    assert started.queued and started.job.status == "queued"
    row = OutboxTask.objects.get()
    assert row.task == "helpdesk.exports.tasks.export_job_dispatch_task"
    assert row.args == [started.job.pk]


def test_a_job_runs_once_however_often_it_is_delivered(cast, source):
    job = services.export_start(actor=cast.agent_a, kind="test.rows", params={}, format="csv").job
    assert tasks.export_job_run_task(job.pk) == "done"
    name = ExportJob.objects.get(pk=job.pk).file_name
    assert tasks.export_job_run_task(job.pk) == "skipped"
    assert ExportJob.objects.get(pk=job.pk).file_name == name
    with default_storage.open(name) as f:
        assert f.read().decode("utf-8-sig").splitlines() == ["n,word", "1,'=one", "2,two"]


def test_with_a_broker_the_job_goes_to_a_worker_as_its_own_task(cast, source, monkeypatch):
    job = services.export_start(actor=cast.agent_a, kind="test.rows", params={}, format="csv").job
    sent = []
    monkeypatch.setattr("helpdesk.outbox.services.dispatch_mode", lambda: "broker")
    monkeypatch.setattr(tasks.export_job_run_task, "delay", lambda pk: sent.append(pk))
    assert tasks.export_job_dispatch_task(job.pk) == "dispatched"
    assert sent == [job.pk] and ExportJob.objects.get(pk=job.pk).status == "queued"


def test_an_unknown_source_or_format_is_refused_and_nothing_written(cast, source):
    with pytest.raises(registry.ExportError) as unknown:
        services.export_start(actor=cast.agent_a, kind="nope", params={}, format="csv")
    with pytest.raises(registry.ExportError) as bad:
        services.export_start(actor=cast.agent_a, kind="test.rows", params={}, format="pdf")
    assert (unknown.value.code, bad.value.code) == ("unknown_export", "bad_format")
    assert not ExportJob.objects.exists() and not OutboxTask.objects.exists()


def test_a_client_cannot_export(cast, source):
    from accounts.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        services.export_start(actor=cast.alice, kind="test.rows", params={}, format="csv")
    assert not ExportJob.objects.exists()
