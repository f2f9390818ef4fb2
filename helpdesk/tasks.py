"""Celery tasks: thin wrappers taking ids or names, calling one service, idempotent."""

from celery import shared_task

from . import cron


@shared_task(acks_late=True, time_limit=30 * 60, soft_time_limit=25 * 60)
def run_cron_job_task(name: str) -> int:
    return cron.run_job(name, via="celery")
