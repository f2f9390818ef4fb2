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
