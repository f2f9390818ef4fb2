"""The export job. It is enqueued through the outbox (helpdesk.outbox: in the export's
transaction, sent on commit) as `export_job_dispatch_task`, which with a broker hands
the job to a worker as its own task, `export_job_run_task`, bounded by an hour rather
than the outbox's eight minutes (a million rows as XLSX takes several minutes); with no
broker (`run_cron --loop`) the outbox runs it in place, within its own limit."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, time_limit=65 * 60, soft_time_limit=60 * 60)
def export_job_run_task(job_id: int) -> str:
    """Safe to run twice (a redelivered task): a job is claimed once."""
    job = services.export_job_run(job_id=job_id)
    return job.status if job is not None else "skipped"


@shared_task(acks_late=True, time_limit=9 * 60, soft_time_limit=8 * 60)
def export_job_dispatch_task(job_id: int) -> str:
    from helpdesk.outbox.services import dispatch_mode

    if dispatch_mode() == "broker":
        export_job_run_task.delay(job_id)
        return "dispatched"
    return export_job_run_task(job_id)
