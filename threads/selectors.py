"""Reads of threads. Who may see a thread is decided by its owner's selectors
(tickets.selectors); these only shape the data for a reader who may."""

from django.db.models import Prefetch, QuerySet

from accounts.models import User

from .models import Attachment, Draft, ThreadEntry, ThreadEvent


def entries_for(*, thread_id: int, include_notes: bool) -> QuerySet[ThreadEntry]:
    """The entries of a thread, with posters and attachments, in a constant number of queries."""
    qs = ThreadEntry.objects.filter(thread_id=thread_id).select_related("poster", "editor")
    if not include_notes:
        qs = qs.exclude(kind=ThreadEntry.Kind.NOTE)
    return qs.prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.select_related("file"))
    )


def events_for(*, thread_id: int) -> QuerySet[ThreadEvent]:
    return ThreadEvent.objects.filter(thread_id=thread_id).select_related("actor")


def draft_for(*, agent: User, namespace: str) -> str:
    """The agent's saved draft body for a namespace (e.g. ticket.42.reply), or ""."""
    return (
        Draft.objects.filter(agent=agent, namespace=namespace)
        .values_list("body", flat=True)
        .first()
        or ""
    )
