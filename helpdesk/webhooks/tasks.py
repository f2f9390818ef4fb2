"""Celery task of the webhooks: thin, takes an id, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def deliver_webhook_task(delivery_id: int) -> str | None:
    return services.delivery_send(delivery_id)
