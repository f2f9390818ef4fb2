"""The agents' panel at /scp/."""

from django.apps import AppConfig


class PanelConfig(AppConfig):
    name = "helpdesk.panel"
    label = "helpdesk_panel"
    verbose_name = "Staff panel"

    def ready(self):
        from .exports import register_sources

        register_sources()
