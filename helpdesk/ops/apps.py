from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "helpdesk.ops"
    label = "helpdesk_ops"
    verbose_name = "System health"

    def ready(self) -> None:
        from tickets import signals

        from . import instruments

        signals.ticket_created.connect(
            instruments.ticket_opened, dispatch_uid="helpdesk.ops.tickets_opened"
        )
