"""The staff panel's system health page (admins only)."""

from django.core.exceptions import PermissionDenied
from django.views.decorators.http import require_GET

from helpdesk.panel.access import agent_required
from helpdesk.panel.views.common import page

from .selectors import health, may_see_health


@require_GET
@agent_required
def health_page(request):
    if not may_see_health(request.user):
        raise PermissionDenied("Only helpdesk admins see the system health.")
    return page(request, "ops/health.html", health())
