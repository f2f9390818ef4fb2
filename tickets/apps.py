from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self):
        from routing.models import (
            SLA,
            BannedEmail,
            Department,
            FilterAction,
            FilterRule,
            HelpTopic,
            TicketFilter,
        )

        from . import config
        from .models import HelpdeskSettings, Priority, TicketStatus

        # What tickets.config caches: a change to any of these gives a new version.
        config.watch(
            Department,
            SLA,
            HelpTopic,
            TicketStatus,
            Priority,
            TicketFilter,
            FilterRule,
            FilterAction,
            BannedEmail,
            HelpdeskSettings,
        )
