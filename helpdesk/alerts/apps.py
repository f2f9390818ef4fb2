from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "helpdesk.alerts"
    label = "helpdesk_alerts"
    verbose_name = "Agent alerts"
