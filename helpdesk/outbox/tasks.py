"""The one Celery task of the outbox: run one row, claimed first (safe to run twice)."""

from celery import shared_task

from . import services


# The time limit ends a stuck run before its lease (services.LEASE) does.
@shared_task(acks_late=True, time_limit=9 * 60, soft_time_limit=8 * 60)
def run_outbox_task(outbox_id: int) -> str | None:
    return services.outbox_run(outbox_id)
