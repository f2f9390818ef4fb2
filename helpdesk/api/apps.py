"""REST API v1, osTicket-compatible endpoints, OpenAPI."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "helpdesk.api"
    label = "helpdesk_api"
    verbose_name = "API"
