"""Celery tasks of the email channel: thin, taking ids, safe to run twice."""

import logging

from celery import shared_task
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from helpdesk.outbox.services import RetryLater

from .models import OutboundMessage

log = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=180, soft_time_limit=150)
def send_outbound_task(outbound_id: int) -> str | None:
    """Send one stored mail (run through the outbox, helpdesk.outbox). A failure asks the
    outbox to try again later with backoff; after SEND_MAX_RETRIES attempts the mail is
    failed and noted on the ticket."""
    outcome = _attempt(outbound_id)
    if outcome is not None and outcome[0] == "retry":
        attempts, exc = outcome[1], outcome[2]
        raise RetryLater(f"mail {outbound_id}: {exc}", seconds=min(3600, 30 * 2**attempts))
    return outcome[0] if outcome else None


def _attempt(outbound_id: int):
    """One try: ("sent",), ("failed",), ("retry", attempts, exc), or None (nothing to do)."""
    from . import outbound

    row = OutboundMessage.objects.select_related("ticket", "entry").filter(pk=outbound_id).first()
    if row is None or row.status != OutboundMessage.Status.QUEUED:
        return None  # already sent (a task run twice) or gone
    row.attempts += 1
    try:
        outbound.deliver(row)
    except Exception as exc:  # SMTP, socket, TLS, backend errors alike
        error = f"{type(exc).__name__}: {exc}"
        OutboundMessage.objects.filter(pk=row.pk).update(
            attempts=F("attempts") + 1, error=error[:2000]
        )
        if row.attempts < settings.HELPDESK_MAIL["SEND_MAX_RETRIES"]:
            log.warning("mail %s: attempt %s failed: %s", row.pk, row.attempts, error)
            return ("retry", row.attempts, exc)
        outbound.record_failure(row, error)
        return ("failed",)
    OutboundMessage.objects.filter(pk=row.pk).update(
        status=OutboundMessage.Status.SENT,
        sent_at=timezone.now(),
        error="",
        attempts=F("attempts") + 1,
    )
    return ("sent",)


@shared_task(acks_late=True, time_limit=300)
def notify_task(event: str, ticket_id: int, entry_id: int | None = None, extra=None) -> None:
    """Pick the recipients of one ticket event and queue their mail (deduplicated, so a
    second run sends nothing twice). Run through the outbox, which retries failures."""
    from .notifications import notify

    notify(event, ticket_id, entry_id, **(extra or {}))


# Not called any more (the overdue sweep writes one notify_task outbox row per ticket),
# but kept registered on purpose: no beat entry or outbox row names it (the outbox's
# migration 0002 gave rows only to queued mail and webhook deliveries), yet the sweep
# before the outbox sent it with .delay(), so such a message may still wait in a broker
# queue across the upgrade, and Celery discards a message naming an unregistered task
# (its overdue alerts lost). Remove it one release after the outbox.
@shared_task(acks_late=True, time_limit=1800)
def notify_overdue_task(ticket_ids: list[int], nonce: str) -> None:
    """Kept for messages queued before the outbox (now one notify_task row per ticket)."""
    from .notifications import notify

    for ticket_id in ticket_ids:
        notify("overdue", ticket_id, None, nonce=nonce)


@shared_task(acks_late=True, time_limit=30 * 60, soft_time_limit=25 * 60)
def fetch_mailbox_task(mailbox_id: int) -> dict:
    from .fetching import fetch_mailbox
    from .models import Mailbox

    mailbox = Mailbox.objects.get(pk=mailbox_id)
    return fetch_mailbox(mailbox).as_dict()
