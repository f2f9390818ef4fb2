"""Which export files an agent may download: their own finished, unexpired ones."""

from django.db.models import QuerySet
from django.utils import timezone

from .models import ExportJob


def exports_of(*, user) -> QuerySet[ExportJob]:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_agent", False):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(requester_id=user.pk)


def export_get_for(*, user, pk: int) -> ExportJob | None:
    """The agent's own ready export `pk`, None for anyone else's, unfinished or expired."""
    return (
        exports_of(user=user)
        .filter(pk=pk, status=ExportJob.Status.DONE, expires_at__gt=timezone.now())
        .exclude(file_name="")
        .first()
    )


def exports_for_list(*, user, limit: int = 50) -> list[ExportJob]:
    """The agent's newest exports written by a job (not the ones streamed at once)."""
    return list(
        exports_of(user=user)
        .exclude(status=ExportJob.Status.STREAMED)
        .order_by("-created_at", "-id")[:limit]
    )
