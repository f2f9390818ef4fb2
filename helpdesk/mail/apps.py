"""Email in (fetch, pipe, parse, thread) and out (templates, notifications)."""

from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "helpdesk.mail"
    label = "helpdesk_mail"
    verbose_name = "Mail"

    def ready(self):
        from . import receivers

        receivers.connect()
