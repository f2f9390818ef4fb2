from django.db.models import Q, QuerySet

from accounts import permissions as perms

from .models import CannedResponse


def canned_visible_to(*, agent) -> QuerySet[CannedResponse]:
    """Active canned responses an agent may insert: global ones and their departments'."""
    if not (getattr(agent, "is_agent", False) and agent.is_active):
        return CannedResponse.objects.none()
    qs = CannedResponse.objects.filter(is_active=True).select_related("department")
    if agent.is_helpdesk_admin:
        return qs
    return qs.filter(Q(department__isnull=True) | Q(department_id__in=perms.department_ids(agent)))
