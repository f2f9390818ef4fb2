"""Webhook subscriptions, outbox and deliveries."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "helpdesk.webhooks"
    label = "helpdesk_webhooks"
    verbose_name = "Webhooks"
