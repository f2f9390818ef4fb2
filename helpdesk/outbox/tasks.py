"""The one Celery task of the outbox: run one row, claimed first (safe to run twice)."""

from celery import shared_task

from . import services

# The time limit ends a stuck run before its lease (services.LEASE) does: nine and
# eight tenths of it (9 and 8 minutes with the default lease of 10).
_LEASE = services.LEASE.total_seconds()


@shared_task(acks_late=True, time_limit=round(_LEASE * 0.9), soft_time_limit=round(_LEASE * 0.8))
def run_outbox_task(outbox_id: int) -> str | None:
    return services.outbox_run(outbox_id)
