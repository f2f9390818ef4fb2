from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "helpdesk.outbox"
    label = "helpdesk_outbox"
    verbose_name = "Outbox"
