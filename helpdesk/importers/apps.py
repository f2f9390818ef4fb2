"""The importers' app: the mapping table that makes an import idempotent."""

from django.apps import AppConfig


class ImportersConfig(AppConfig):
    name = "helpdesk.importers"
    label = "helpdesk_importers"
    verbose_name = "Importers"
    default_auto_field = "django.db.models.BigAutoField"
