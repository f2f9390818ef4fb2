"""Which alerts an agent sees: their own, about tickets and tasks they may see now
(tickets.selectors decides), and about their own exports, newest first."""

from django.db.models import Q, QuerySet

from helpdesk.counts import Capped, capped_counts
from tickets.selectors import tasks_visible_to, tickets_visible_to

from .models import Alert

UNREAD_CAP = 99


def alerts_visible_to(*, user) -> QuerySet[Alert]:
    if not getattr(user, "is_authenticated", False) or not user.is_agent:
        return Alert.objects.none()
    visible = (
        Q(ticket__in=tickets_visible_to(user=user).values("pk"))
        | Q(task__in=tasks_visible_to(user=user).values("pk"))
        | Q(export__requester_id=user.pk)
    )
    return Alert.objects.filter(visible, recipient_id=user.pk)


def alerts_for_list(*, user, limit: int = 50) -> list[Alert]:
    """The newest `limit` alerts with what their rows show (a constant number of
    queries whatever the number)."""
    return list(
        alerts_visible_to(user=user)
        .select_related("ticket", "task", "export")
        .order_by("-created_at", "-id")[:limit]
    )


def unread_alerts(*, user, cap: int = UNREAD_CAP) -> Capped:
    """The bell's figure: unread alerts, to count up to cap + 1 (shown as "99+"), in
    the statement of the page's other counts (helpdesk.counts)."""
    return Capped(alerts_visible_to(user=user).filter(read_at__isnull=True), cap)


def unread_count(*, user, cap: int = UNREAD_CAP) -> int:
    """Unread alerts, counted up to cap + 1 (shown as "99+")."""
    return capped_counts({"unread": unread_alerts(user=user, cap=cap)})["unread"]


def alert_get_for(*, user, pk: int) -> Alert | None:
    return alerts_visible_to(user=user).filter(pk=pk).first()
