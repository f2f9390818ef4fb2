"""The export job, run through the outbox (helpdesk.outbox: enqueued in the export's
transaction, run after commit by a worker or the periodic job)."""

from celery import shared_task

from . import services


# The outbox bounds a row by its own limit (8 min, before its lease ends).
@shared_task(acks_late=True, time_limit=9 * 60, soft_time_limit=8 * 60)
def export_job_run_task(job_id: int) -> str:
    job = services.export_job_run(job_id=job_id)
    return job.status if job is not None else "skipped"
