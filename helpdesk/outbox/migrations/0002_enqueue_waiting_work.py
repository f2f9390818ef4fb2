"""Mail and webhook deliveries waiting when the outbox arrived get their outbox rows, so
none is left behind by the change of mechanism (they were queued in Celery only)."""

from django.db import migrations
from django.utils import timezone


def enqueue_waiting(apps, schema_editor):
    OutboxTask = apps.get_model("helpdesk_outbox", "OutboxTask")
    OutboundMessage = apps.get_model("helpdesk_mail", "OutboundMessage")
    Delivery = apps.get_model("helpdesk_webhooks", "Delivery")
    now = timezone.now()
    waiting = [
        ("helpdesk.mail.tasks.send_outbound_task", pk)
        for pk in OutboundMessage.objects.filter(status="queued").values_list("pk", flat=True)
    ] + [
        ("helpdesk.webhooks.tasks.deliver_webhook_task", pk)
        for pk in Delivery.objects.filter(status="pending").values_list("pk", flat=True)
    ]
    OutboxTask.objects.bulk_create(
        OutboxTask(task=task, args=[pk], kwargs={}, created_at=now, next_attempt_at=now)
        for task, pk in waiting
    )


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk_outbox", "0001_outbox_task"),
        ("helpdesk_mail", "0002_default_templates"),
        ("helpdesk_webhooks", "0002_watched_base_manager"),
    ]

    operations = [migrations.RunPython(enqueue_waiting, migrations.RunPython.noop)]
