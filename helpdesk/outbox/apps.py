from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "helpdesk.outbox"
    label = "helpdesk_outbox"
    verbose_name = "Outbox"

    def ready(self):
        from accounts import bus

        from .services import enqueue

        bus.set_enqueue(enqueue)
