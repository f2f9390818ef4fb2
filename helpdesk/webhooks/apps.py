"""Webhook subscriptions, outbox and deliveries."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "helpdesk.webhooks"
    label = "helpdesk_webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from threads.signals import event_recorded
        from tickets import config

        from . import services
        from .models import Subscription

        event_recorded.connect(services.outbox_write, dispatch_uid="helpdesk.webhooks.outbox")
        config.watch(Subscription)  # outbox_write reads them from tickets.config
