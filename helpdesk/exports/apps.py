from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "helpdesk.exports"
    label = "helpdesk_exports"
    verbose_name = "Exports"
