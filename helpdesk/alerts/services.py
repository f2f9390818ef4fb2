"""Writing and reading off alerts: the one path for changes to helpdesk.alerts."""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.actors import is_agent
from accounts.errors import PermissionRefused

from .models import Alert


def alerts_record(
    *,
    kind: str,
    recipients: Iterable,
    event_key: str,
    ticket=None,
    task=None,
    export=None,
    actor_name: str = "",
) -> int:
    """One alert per agent in `recipients` about one event (one statement; a second call
    for the same event adds nothing). Returns how many rows were asked for."""
    rows = [
        Alert(
            recipient=person,
            kind=kind,
            event_key=event_key[:128],
            ticket=ticket,
            task=task,
            export=export,
            actor_name=(actor_name or "")[:128],
        )
        for person in dict.fromkeys(recipients)
        if person is not None and is_agent(person)
    ]
    if rows:
        Alert.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def alert_mark_read(*, actor, alert: Alert) -> Alert:
    """Mark the agent's own alert read (the caller found it through the selector)."""
    if alert.recipient_id != getattr(actor, "pk", None):
        raise PermissionRefused("This alert is not yours.", code="permission_denied")
    if alert.read_at is None:
        alert.read_at = timezone.now()
        Alert.objects.filter(pk=alert.pk, read_at__isnull=True).update(read_at=alert.read_at)
    return alert


def alerts_mark_all_read(*, actor) -> int:
    """Mark every unread alert of the agent read; returns how many."""
    with transaction.atomic():
        return Alert.objects.filter(recipient_id=actor.pk, read_at__isnull=True).update(
            read_at=timezone.now()
        )


def alerts_purge(*, read_days: int = 30, any_days: int = 180) -> int:
    """Delete alerts read more than `read_days` ago and any older than `any_days` (the
    cron job purge_alerts); one statement; returns how many."""
    now = timezone.now()
    old = Q(read_at__lt=now - dt.timedelta(days=read_days)) | Q(
        created_at__lt=now - dt.timedelta(days=any_days)
    )
    return Alert.objects.filter(old).delete()[0]
