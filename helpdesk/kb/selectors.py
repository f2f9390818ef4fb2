from django.db.models import Q, QuerySet

from accounts import permissions as perms
from accounts.compiled import KeptSelect

from .models import CannedResponse


def canned_visible_to(*, agent) -> QuerySet[CannedResponse]:
    """Active canned responses an agent may insert: global ones and their departments'."""
    if not (getattr(agent, "is_agent", False) and agent.is_active):
        return CannedResponse.objects.none()
    if agent.is_helpdesk_admin:
        return _canned(None)
    return _canned(frozenset(perms.department_ids(agent)))


def canned_list(*, agent) -> list[CannedResponse]:
    """`canned_visible_to(agent=agent)`, read with a statement compiled once per process
    for the agent's departments (accounts.compiled.KeptSelect)."""
    if not (getattr(agent, "is_agent", False) and agent.is_active):
        return []
    departments = None if agent.is_helpdesk_admin else frozenset(perms.department_ids(agent))
    return _KEPT_CANNED(departments)


def _canned(departments: frozenset[int] | None) -> QuerySet[CannedResponse]:
    """Active canned responses, of every department (None) or global and `departments`'."""
    qs = CannedResponse.objects.filter(is_active=True).select_related("department")
    if departments is None:
        return qs
    return qs.filter(Q(department__isnull=True) | Q(department_id__in=sorted(departments)))


_KEPT_CANNED = KeptSelect(_canned)
