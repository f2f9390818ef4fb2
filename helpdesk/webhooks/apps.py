"""Webhook subscriptions, outbox and deliveries."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "helpdesk.webhooks"
    label = "helpdesk_webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from threads.signals import event_recorded, events_recorded

        from . import services

        # Subscriptions are read from tickets.config: declared @cached_rows on the model.
        event_recorded.connect(services.outbox_write, dispatch_uid="helpdesk.webhooks.outbox")
        events_recorded.connect(
            services.outbox_write_many, dispatch_uid="helpdesk.webhooks.outbox_many"
        )
