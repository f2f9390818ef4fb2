"""/api/: the REST API v1 under /api/v1/, and osTicket's endpoints beside it."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from helpdesk.webhooks.api import WebhookViewSet

from . import osticket, views_reference, views_tasks, views_tickets, views_tokens
from .views_files import AttachmentDownloadView

app_name = "api"


@csrf_exempt
def not_found(request, *args, **kwargs):
    body = {
        "type": "urn:helpdesk:problem:not_found",
        "title": "Not found",
        "status": 404,
        "detail": "No such endpoint in /api/v1/.",
        "code": "not_found",
    }
    return JsonResponse(body, status=404, content_type="application/problem+json")


class Router(DefaultRouter):
    include_root_view = True
    include_format_suffixes = False


router = Router(trailing_slash=True)  # "/"
router.register("tickets", views_tickets.TicketViewSet, basename="ticket")
router.register("tasks", views_tasks.TaskViewSet, basename="task")
router.register("users", views_reference.UserViewSet, basename="user")
router.register("organizations", views_reference.OrganizationViewSet, basename="organization")
router.register("agents", views_reference.AgentViewSet, basename="agent")
router.register("departments", views_reference.DepartmentViewSet, basename="department")
router.register("teams", views_reference.TeamViewSet, basename="team")
router.register("topics", views_reference.TopicViewSet, basename="topic")
router.register("slas", views_reference.SLAViewSet, basename="sla")
router.register("statuses", views_reference.StatusViewSet, basename="status")
router.register("priorities", views_reference.PriorityViewSet, basename="priority")
router.register("canned-responses", views_reference.CannedViewSet, basename="canned")
router.register("tokens", views_tokens.TokenViewSet, basename="token")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's start-up script as a file: no inline script, so
    # the page works under our Content-Security-Policy (helpdesk.security)
    path("v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path(
        "v1/redoc/",
        SpectacularRedocView.as_view(
            url_name="api:schema", template_name="helpdesk_api/redoc.html"
        ),
        name="redoc",
    ),
    re_path(
        r"^v1/attachments/(?P<pk>[0-9]{1,18})/$",
        AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
    path("v1/", include(router.urls)),
    re_path(r"^v1/", not_found),
    # osTicket's endpoints (also under http.php/, for installs without URL rewriting)
    re_path(r"^(?:http\.php/)?tickets\.json$", osticket.TicketsView.as_view(fmt="json")),
    re_path(r"^(?:http\.php/)?tickets\.xml$", osticket.TicketsView.as_view(fmt="xml")),
    re_path(r"^(?:http\.php/)?tickets\.email$", osticket.EmailView.as_view()),
    re_path(r"^(?:http\.php/)?tasks/cron$", osticket.CronView.as_view()),
    re_path(r"^(?!v1/).*$", osticket.unsupported),
]
