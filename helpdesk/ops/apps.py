from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "helpdesk.ops"
    label = "helpdesk_ops"
    verbose_name = "System health"
