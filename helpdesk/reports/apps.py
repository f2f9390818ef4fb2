"""Reports: read models kept from the tickets' history (DESIGN.md: helpdesk/reports/)."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "helpdesk.reports"
    label = "helpdesk_reports"
    verbose_name = "Reports"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import receivers  # noqa: F401  (marks changed tickets for the report job)
        from .percentile import register_sqlite

        connection_created.connect(register_sqlite, dispatch_uid="reports.percentile")
