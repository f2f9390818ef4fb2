from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Helpdesk"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the receivers to the domain signals)
