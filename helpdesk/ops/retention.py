"""Retention: what piles up is purged after the ages in RetentionSettings, in batches
(osTicket's log purge), by the `purge_retention` cron job.

Each purge deletes (or, for raw inbound mail, erases) the rows older than its age in
batches of BATCH primary keys, each batch its own short transaction, walking up the
primary key so a run never rescans what it has done: never one huge DELETE holding
locks on a large table.

Other apps add their own purge with `register()`. The audit log's ("audit", its age in
RetentionSettings.audit_days) is registered here, since accounts imports no app of ours:
`accounts.audit.purge_before`, the one way entries leave the log. Each run that purged
anything is itself an audit entry ("retention.purged", by the system or the command
running it, with the counts), written after the purges.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from accounts import audit

from .models import JobRun, RetentionSettings

log = logging.getLogger(__name__)

BATCH = 1000


def delete_in_batches(queryset: models.QuerySet, *, batch: int | None = None) -> int:
    """Delete the rows of `queryset` BATCH at a time (related rows cascade as usual);
    returns how many rows of its own model went."""
    size = batch or BATCH
    label = queryset.model._meta.label
    total, last = 0, 0
    while True:
        pks = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not pks:
            return total
        with transaction.atomic():  # the conditions again: a row that changed stays
            _, per_model = queryset.filter(pk__in=pks).delete()
        total += per_model.get(label, 0)
        last = pks[-1]


def update_in_batches(queryset: models.QuerySet, *, batch: int | None = None, **values) -> int:
    size = batch or BATCH
    total, last = 0, 0
    while True:
        pks = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not pks:
            return total
        with transaction.atomic():
            total += queryset.filter(pk__in=pks).update(**values)
        last = pks[-1]


def purge_inbound_raw(cutoff: dt.datetime) -> int:
    """Erase the stored bytes of processed inbound mail; the rows stay (a message left on
    its server is known by them and not imported twice; the sender check is shown)."""
    from helpdesk.mail.models import InboundMessage

    S = InboundMessage.Status
    done = [s for s in InboundMessage.FINAL if s != S.PARKED]  # parked: kept for reprocessing
    rows = InboundMessage.objects.filter(status__in=done, received_at__lt=cutoff).exclude(raw=b"")
    return update_in_batches(rows, raw=b"")


def purge_outbound_mail(cutoff: dt.datetime) -> int:
    from helpdesk.mail.models import OutboundMessage

    S = OutboundMessage.Status
    final = [S.SENT, S.FAILED, S.BOUNCED]  # never mail still waiting to go
    return delete_in_batches(
        OutboundMessage.objects.filter(status__in=final, created_at__lt=cutoff)
    )


def purge_webhook_deliveries(cutoff: dt.datetime) -> int:
    from helpdesk.webhooks.models import Delivery

    final = [Delivery.Status.SUCCEEDED, Delivery.Status.GAVE_UP]
    return delete_in_batches(Delivery.objects.filter(status__in=final, created_at__lt=cutoff))


def purge_tokens(cutoff: dt.datetime) -> int:
    """Email verifications, guest access links and invitations expired before `cutoff`."""
    from helpdesk.portal.models import AccessLink, EmailVerification, Invitation

    return sum(
        delete_in_batches(model.objects.filter(expires_at__lt=cutoff))
        for model in (EmailVerification, AccessLink, Invitation)
    )


def purge_job_runs(cutoff: dt.datetime) -> int:
    return delete_in_batches(JobRun.objects.filter(started_at__lt=cutoff))


@dataclass(frozen=True)
class Purge:
    name: str
    days_field: str  # the age, a field of RetentionSettings
    purge: Callable[[dt.datetime], int]


PURGES: dict[str, Purge] = {}


def register(name: str, days_field: str, purge: Callable[[dt.datetime], int]) -> None:
    """Add (or replace) a purge run by `purge_retention` with the age in `days_field`."""
    PURGES[name] = Purge(name, days_field, purge)


register("inbound_raw", "inbound_raw_days", purge_inbound_raw)
register("outbound_mail", "outbound_mail_days", purge_outbound_mail)
register("webhook_deliveries", "webhook_delivery_days", purge_webhook_deliveries)
register("tokens", "token_days", purge_tokens)
register("job_runs", "job_run_days", purge_job_runs)
register("audit", "audit_days", audit.purge_before)


def purge_all(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Every registered purge with its configured age (0: kept for ever): {purge name:
    rows purged}. (API idempotency keys have their own job and TTL setting,
    `purge_idempotency_keys`, batched the same way.)"""
    now = now or timezone.now()
    ages = RetentionSettings.load()
    done: dict[str, int] = {}
    for purge in PURGES.values():
        days = getattr(ages, purge.days_field)
        if days:
            done[purge.name] = purge.purge(now - dt.timedelta(days=days))
    if any(done.values()):
        audit.record(
            "retention.purged",
            actor=None,  # the system (or the command running the job)
            target_label="retention",
            detail=", ".join(f"{name}: {count}" for name, count in done.items()),
        )
    log.info("retention purge: %s", done)
    return done
