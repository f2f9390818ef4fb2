from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self):
        from django.db.models.signals import post_migrate

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
        from .models import Priority, TicketStatus

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
        )
        # Data migrations write through historical models, which send no signal to
        # these receivers: after a migration, processes drop what they cached.
        post_migrate.connect(config.after_migrate, sender=self, dispatch_uid="tickets.config")
