"""FAQ categories and articles."""

from django.apps import AppConfig


class KbConfig(AppConfig):
    name = "helpdesk.kb"
    label = "helpdesk_kb"
    verbose_name = "Knowledge base"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the canned auto-reply)
