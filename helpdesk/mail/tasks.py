"""Celery tasks of the email channel: thin, taking ids, safe to run twice."""

import logging

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from helpdesk.outbox.services import LEASE, RetryLater

from .models import OutboundMessage

log = logging.getLogger(__name__)


# A sender's claim on a mail: half the outbox's lease (5 minutes by default), longer
# than send_outbound_task's time limit, so it ends only when the sender died (then the
# mail is sent again: at least once, never twice at the same time), and before the
# outbox row's own lease ends, so the row that runs again finds the mail free.
SEND_LEASE = LEASE / 2
_SEND_SECONDS = SEND_LEASE.total_seconds()


@shared_task(
    acks_late=True,
    time_limit=round(min(180, _SEND_SECONDS * 0.6)),
    soft_time_limit=round(min(150, _SEND_SECONDS * 0.5)),
)
def send_outbound_task(outbound_id: int) -> str | None:
    """Send one stored mail (run through the outbox, helpdesk.outbox). A failure asks the
    outbox to try again later with backoff; after SEND_MAX_RETRIES attempts the mail is
    failed and noted on the ticket."""
    outcome = _attempt(outbound_id)
    if outcome is not None and outcome[0] == "retry":
        attempts, exc = outcome[1], outcome[2]
        raise RetryLater(f"mail {outbound_id}: {exc}", seconds=min(3600, 30 * 2**attempts))
    return outcome[0] if outcome else None


def _claim(outbound_id: int) -> OutboundMessage | None:
    """Take a queued mail (or one whose sender died) for this run: one conditional
    UPDATE, so of two runs for the same mail only one sends."""
    now = timezone.now()
    free = Q(status=OutboundMessage.Status.QUEUED) | Q(
        status=OutboundMessage.Status.SENDING, claimed_until__lt=now
    )
    taken = OutboundMessage.objects.filter(free, pk=outbound_id).update(
        status=OutboundMessage.Status.SENDING, claimed_until=now + SEND_LEASE
    )
    if not taken:
        return None  # already sent, being sent by another run, failed for good, or gone
    return OutboundMessage.objects.select_related("ticket", "entry").get(pk=outbound_id)


def _attempt(outbound_id: int):
    """One try: ("sent",), ("failed",), ("retry", attempts, exc), or None (nothing to do)."""
    from . import outbound

    row = _claim(outbound_id)
    if row is None:
        return None
    row.attempts += 1
    try:
        outbound.deliver(row)
    except Exception as exc:  # SMTP, socket, TLS, backend errors alike
        error = f"{type(exc).__name__}: {exc}"
        again = row.attempts < settings.HELPDESK_MAIL["SEND_MAX_RETRIES"]
        OutboundMessage.objects.filter(pk=row.pk).update(
            attempts=F("attempts") + 1,
            error=error[:2000],
            claimed_until=None,
            **({"status": OutboundMessage.Status.QUEUED} if again else {}),
        )
        if again:
            log.warning("mail %s: attempt %s failed: %s", row.pk, row.attempts, error)
            return ("retry", row.attempts, exc)
        outbound.record_failure(row, error)
        return ("failed",)
    OutboundMessage.objects.filter(pk=row.pk).update(
        status=OutboundMessage.Status.SENT,
        sent_at=timezone.now(),
        error="",
        attempts=F("attempts") + 1,
        claimed_until=None,
    )
    return ("sent",)


@shared_task(acks_late=True, time_limit=300)
def notify_task(event: str, ticket_id: int, entry_id: int | None = None, extra=None) -> None:
    """Pick the recipients of one ticket event and queue their mail (deduplicated, so a
    second run sends nothing twice). Run through the outbox, which retries failures."""
    from .notifications import notify

    notify(event, ticket_id, entry_id, **(extra or {}))


@shared_task(acks_late=True, time_limit=300)
def task_notify_task(event: str, task_id: int, entry_id: int | None = None, extra=None) -> None:
    """Pick the recipients of one task event (agents only) and queue their mail
    (deduplicated, so a second run sends nothing twice). Run through the outbox."""
    from .task_notifications import notify

    notify(event, task_id, entry_id, **(extra or {}))


@shared_task(acks_late=True, time_limit=300)
def overdue_alerts_task(kind: str, ids: list[int], nonce: str) -> None:
    """The overdue alerts of one sweep batch (`kind` "ticket" or "task"): one notify row
    per ticket or task, each then run and retried on its own. The sweep writes this one
    row per batch instead of thousands, so its transaction (which holds the batch's row
    locks) stays short; a second run queues the rows again and the nonce keeps their
    mail from going out twice."""
    from django.db import transaction

    from helpdesk.outbox.services import enqueue_many

    task = {"ticket": notify_task, "task": task_notify_task}[kind]
    with transaction.atomic():
        enqueue_many(task, [(("overdue", pk, None, {"nonce": nonce}), {}) for pk in ids])


# Not called any more (the overdue sweep's alerts go through overdue_alerts_task),
# but kept registered on purpose: no beat entry or outbox row names it (the outbox's
# migration 0002 gave rows only to queued mail and webhook deliveries), yet the sweep
# before the outbox sent it with .delay(), so such a message may still wait in a broker
# queue across the upgrade, and Celery discards a message naming an unregistered task
# (its overdue alerts lost). Remove it one release after the outbox.
@shared_task(acks_late=True, time_limit=1800)
def notify_overdue_task(ticket_ids: list[int], nonce: str) -> None:
    """Kept for messages queued before the outbox (now overdue_alerts_task)."""
    from .notifications import notify

    for ticket_id in ticket_ids:
        notify("overdue", ticket_id, None, nonce=nonce)


@shared_task(acks_late=True, time_limit=30 * 60, soft_time_limit=25 * 60)
def fetch_mailbox_task(mailbox_id: int) -> dict:
    from .fetching import fetch_mailbox
    from .models import Mailbox

    mailbox = Mailbox.objects.get(pk=mailbox_id)
    return fetch_mailbox(mailbox).as_dict()
