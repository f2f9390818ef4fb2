from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import config

        # What tickets.config caches is declared on each model (@cached_rows): a change
        # to any of them gives a new version.
        config.watch_cached_models()
        # Data migrations write through historical models, which send no signal to
        # these receivers: after a migration, processes drop what they cached.
        post_migrate.connect(config.after_migrate, sender=self, dispatch_uid="tickets.config")
