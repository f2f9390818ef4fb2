from celery import shared_task

from accounts.actors import SYSTEM
from threads.models import ThreadEntry
from threads.services import NewAttachment
from tickets import services
from tickets.models import Ticket

from .models import CannedResponse
from .services import canned_render


@shared_task(acks_late=True, time_limit=120)
def post_canned_reply_task(ticket_id: int, canned_id: int) -> int | None:
    """Post a canned response on a new ticket. Idempotent: once per ticket and response."""
    ticket = Ticket.objects.select_related(
        "requester", "status", "priority", "department", "topic"
    ).get(pk=ticket_id)
    canned = CannedResponse.objects.filter(pk=canned_id, is_active=True).first()
    if canned is None:
        return None
    marker = {"canned_response": canned.pk}
    if ticket.thread.entries.filter(
        kind=ThreadEntry.Kind.RESPONSE, recipients__canned_response=canned.pk
    ).exists():
        return None
    files = [
        NewAttachment(filename=a.filename, content=a.file.file.read(), content_type=a.content_type)
        for a in canned.attachments.select_related("file")
    ]
    posted = services.ticket_post_reply(
        actor=SYSTEM,
        ticket=ticket,
        body=canned_render(canned=canned, ticket=ticket),
        fmt=ThreadEntry.Format.HTML,
        files=files,
        marker=marker,
    )
    return posted.entry.pk
