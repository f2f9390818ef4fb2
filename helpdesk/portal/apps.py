"""The clients' portal at /."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "helpdesk.portal"
    label = "helpdesk_portal"
    verbose_name = "Customer portal"

    def ready(self):
        from . import receivers

        receivers.connect()
