"""Webhooks: subscriptions (admins), the outbox receiver, and sending with retries.

Flow: every service records a ThreadEvent; `threads.signals.event_recorded` is sent
inside that transaction and `outbox_write` inserts one Delivery per matching
subscription there, with one outbox row each (helpdesk.outbox), so both commit or roll
back with the change. Events written in bulk (the overdue sweep's batch) are announced
with `threads.signals.events_recorded` and written the same way by `outbox_write_many`.
Nothing is sent in the request: after commit a worker (or, with
no broker or the broker down, the `outbox_drain` job) sends each delivery. Each try is
signed (HMAC-SHA256 over `<timestamp>.<body>`), goes to the address the host resolved
to once (addresses.py: no private targets, no DNS rebinding), has
settings.HELPDESK_WEBHOOKS["TIMEOUT_SECONDS"] for the whole exchange, is logged (status, body
excerpt, duration) and, on failure, retried by the `webhooks_retry` job with
exponential backoff for settings.HELPDESK_WEBHOOKS["RETRY_HOURS"].
"""

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import time

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from accounts.actors import actor_user, is_agent
from accounts.configuration import record_deleted, record_saved
from accounts.errors import NotVisible, PermissionRefused, ValidationFailed
from helpdesk.ops import instruments
from helpdesk.outbox.services import enqueue, enqueue_many
from threads.models import ThreadEvent
from tickets import config as tickets_config
from tickets.models import Task, Ticket

from . import addresses
from .addresses import UrlRefused
from .models import Attempt, Delivery, Subscription

log = logging.getLogger(__name__)

K = ThreadEvent.Kind
ENTRY_KINDS = {K.MESSAGE, K.RESPONSE, K.NOTE}
# events of a task's own thread (its updates are notes: `task.updated`)
TASK_KINDS = {
    K.CREATED,
    K.ASSIGNED,
    K.RELEASED,
    K.TRANSFERRED,
    K.EDITED,
    K.CLOSED,
    K.REOPENED,
    K.DELETED,
    K.OVERDUE,
}
TICKET_KINDS = set(K.values) - ENTRY_KINDS - {K.CLOSED, K.REOPENED, K.DELETED}
EVENTS = sorted(
    {"entry.created", "task.updated"}
    | {f"ticket.{k}" for k in TICKET_KINDS}
    | {f"task.{k}" for k in TASK_KINDS}
)
# A delivery being sent is locked for its deadline (WEBHOOKS_TIMEOUT_SECONDS, the whole
# exchange) and this margin (the DNS lookup, which the resolver bounds, and the writes):
# the webhooks_retry job takes it back only from a sender that died.
LOCK_MARGIN = dt.timedelta(minutes=2)
BATCH = 200


def event_name(kind: str, *, task: bool = False) -> str:
    """The webhook event of an audit event: of a task's thread or a ticket's."""
    if task:
        return "task.updated" if kind in ENTRY_KINDS else f"task.{kind}"
    return "entry.created" if kind in ENTRY_KINDS else f"ticket.{kind}"


def conf(name: str):
    return settings.HELPDESK_WEBHOOKS[name]


# --- addresses ---------------------------------------------------------------------------


def check_url(url: str) -> None:
    """At save: refuse non-HTTP URLs and (unless settings allow them) private, loopback,
    link-local, shared, multicast and reserved targets (addresses.py)."""
    addresses.check_at_save(url)


# --- subscriptions (admins) --------------------------------------------------------------


def _require_admin(actor) -> None:
    if not (is_agent(actor) and actor.is_helpdesk_admin):
        raise PermissionRefused("Only helpdesk admins manage webhooks.", code="permission_denied")


def _clean(url: str | None, events: list | None) -> None:
    if url is not None:
        try:
            check_url(url)
        except UrlRefused as exc:
            raise ValidationFailed(
                str(exc), code="url_refused", fields={"url": [str(exc)]}
            ) from None
    if events is not None:
        unknown = sorted(set(events) - set(EVENTS) - {"*"})
        if unknown or not events:
            msg = f"Unknown events: {', '.join(unknown)}." if unknown else "Choose events."
            raise ValidationFailed(msg, code="invalid_events", fields={"events": [msg]})


def subscription_create(*, actor, name: str, url: str, events: list[str], is_active=True):
    _require_admin(actor)
    _clean(url, events)
    subscription = Subscription(
        name=name,
        url=url,
        events=sorted(set(events)),
        is_active=is_active,
        created_by=actor_user(actor),
    )
    with transaction.atomic():
        subscription.save()
        record_saved(actor, subscription, {}, created=True)
    return subscription


def subscription_update(*, actor, subscription: Subscription, **changes) -> Subscription:
    _require_admin(actor)
    _clean(changes.get("url"), changes.get("events"))
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    before = audit.stored_snapshot(subscription)
    for name, value in changes.items():
        setattr(subscription, name, value)
    with transaction.atomic():
        subscription.save()
        record_saved(actor, subscription, before, created=False)
    return subscription


def subscription_delete(*, actor, subscription: Subscription) -> None:
    _require_admin(actor)
    pk, before = subscription.pk, audit.full_snapshot(subscription)
    with transaction.atomic():
        subscription.delete()
        record_deleted(actor, subscription, pk, before)


def subscriptions_visible_to(*, user):
    if not (is_agent(user) and user.is_helpdesk_admin):
        return Subscription.objects.none()
    return Subscription.objects.all()


def delivery_redeliver(*, actor, delivery: Delivery) -> Delivery:
    _require_admin(actor)
    if delivery.status == Delivery.Status.SENDING:
        raise NotVisible("Delivery is being sent.", code="in_progress")
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING, next_attempt_at=now, created_at=now, locked_until=None
        )
        enqueue(_task(), delivery.pk)
    delivery.refresh_from_db()
    return delivery


# --- the outbox ---------------------------------------------------------------------------


def outbox_write(sender, event: ThreadEvent, **kwargs) -> None:
    """Receiver of event_recorded, inside the change's transaction: one Delivery per
    matching active subscription, each with its outbox row (sent after commit)."""
    _write([event], _subscriptions())


def outbox_write_many(sender, event_ids: list[int], **kwargs) -> None:
    """Receiver of events_recorded (events written in bulk, such as the overdue sweep's
    batch), inside that transaction: each event as outbox_write would take it, with a
    constant number of queries for the batch (nothing at all without subscriptions)."""
    active = _subscriptions()
    if active:
        _write(list(ThreadEvent.objects.filter(pk__in=event_ids).order_by("pk")), active)


def _subscriptions() -> list[Subscription]:
    snapshot = tickets_config.current()
    return snapshot.cached("webhooks.active", _active) if snapshot else _active()


def _write(events: list[ThreadEvent], active: list[Subscription]) -> None:
    if not active:
        return
    tasks = _task_snapshots({e.thread_id for e in events})
    names = {e.pk: event_name(e.kind, task=e.thread_id in tasks) for e in events}
    wanted = [(e, [s for s in active if s.wants(names[e.pk])]) for e in events]
    wanted = [(e, subs) for e, subs in wanted if subs]
    if not wanted:
        return
    now = timezone.now()
    tickets = _ticket_snapshots({e.thread_id for e, _ in wanted} - set(tasks))
    deliveries = []
    for event, subs in wanted:
        payload = _payload(
            event, names[event.pk], tickets.get(event.thread_id), tasks.get(event.thread_id), now
        )
        deliveries += [
            Delivery(
                subscription_id=s.pk,
                event=payload["event"],
                event_id=event.pk,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
            for s in subs
        ]
    rows = Delivery.objects.bulk_create(deliveries)
    ids = [r.pk for r in rows if r.pk is not None]
    if len(ids) < len(rows):  # backends that do not return ids from bulk inserts
        ids = list(
            Delivery.objects.filter(event_id__in=[e.pk for e, _ in wanted]).values_list(
                "pk", flat=True
            )
        )
    enqueue_many(_task(), [((pk,), {}) for pk in ids])


def _payload(event: ThreadEvent, name: str, ticket: dict | None, task: dict | None, now) -> dict:
    payload = {
        "event": name,
        "occurred_at": event.created_at or now,
        "actor": event.actor_label,
        "actor_id": event.actor_id,
        "channel": event.channel,
        "kind": event.kind,
        "data": event.data,
        "ticket": ticket,
    }
    if task is not None:  # an event of a task's thread: the task, and no ticket
        payload["task"] = task
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _active() -> list[Subscription]:
    """Active subscriptions (id and events): cached in the configuration snapshot."""
    return list(Subscription.objects.filter(is_active=True).only("id", "events"))


def _task_snapshots(thread_ids: set[int]) -> dict[int, dict]:
    """The tasks owning any of these threads, as deliveries describe them (one query)."""
    rows = Task.objects.filter(thread_id__in=thread_ids).values(
        "id",
        "thread_id",
        "number",
        "title",
        "state",
        "department_id",
        "department__name",
        "assignee_id",
        "team_id",
        "due_at",
        "is_overdue",
        "ticket__number",
        "version",
    )
    return {
        row["thread_id"]: {
            "id": row["id"],
            "number": row["number"],
            "title": row["title"],
            "state": row["state"],
            "department": {"id": row["department_id"], "name": row["department__name"]},
            "assignee_id": row["assignee_id"],
            "team_id": row["team_id"],
            "due_at": row["due_at"],
            "is_overdue": row["is_overdue"],
            "ticket_number": row["ticket__number"],
            "version": row["version"],
        }
        for row in rows
    }


def _ticket_snapshots(thread_ids: set[int]) -> dict[int, dict]:
    """The tickets owning these threads, as deliveries describe them (one query)."""
    rows = Ticket.objects.filter(thread_id__in=thread_ids).values(
        "id",
        "thread_id",
        "number",
        "subject",
        "state",
        "status__name",
        "priority__name",
        "department_id",
        "department__name",
        "assignee_id",
        "team_id",
        "requester__email",
        "version",
    )
    return {
        row["thread_id"]: {
            "id": row["id"],
            "number": row["number"],
            "subject": row["subject"],
            "state": row["state"],
            "status": row["status__name"],
            "priority": row["priority__name"],
            "department": {"id": row["department_id"], "name": row["department__name"]},
            "assignee_id": row["assignee_id"],
            "team_id": row["team_id"],
            "requester_email": row["requester__email"],
            "version": row["version"],
        }
        for row in rows
    }


def _task():
    from .tasks import deliver_webhook_task

    return deliver_webhook_task


# --- sending -----------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, ... doubling up to 2 hours between tries."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 2 * 3600))


def lock_length() -> dt.timedelta:
    return dt.timedelta(seconds=conf("TIMEOUT_SECONDS")) + LOCK_MARGIN


def _claim(pk: int) -> bool:
    now = timezone.now()
    due = Q(status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED], next_attempt_at__lte=now)
    stuck = Q(status=Delivery.Status.SENDING, locked_until__lt=now)
    return bool(
        Delivery.objects.filter(due | stuck, pk=pk).update(
            status=Delivery.Status.SENDING, locked_until=now + lock_length()
        )
    )


def delivery_send(pk: int) -> str | None:
    """Try one delivery (idempotent: a delivery not due, or taken by another worker, is
    left alone). Returns the new status, or None when there was nothing to do."""
    if not _claim(pk):
        return None
    delivery = Delivery.objects.select_related("subscription").get(pk=pk)
    sub = delivery.subscription
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Helpdesk-Webhooks/1",
        "X-Helpdesk-Event": delivery.event,
        "X-Helpdesk-Delivery": str(delivery.pk),
        "X-Helpdesk-Timestamp": timestamp,
        "X-Helpdesk-Signature": sign(sub.secret, timestamp, body),
    }
    started = time.monotonic()
    code, excerpt, error, final = None, b"", "", False
    if not sub.is_active:
        error, final = "The subscription is inactive.", True
    else:
        try:
            target = addresses.resolve(sub.url)  # once; the connection goes there
            code, excerpt = addresses.post(target, body, headers, timeout=conf("TIMEOUT_SECONDS"))
        except addresses.Unresolvable as exc:  # DNS may come back: retried
            error = str(exc)
        except UrlRefused as exc:
            error, final = str(exc), True
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
    return _record(delivery, code, excerpt, error[:500], final, started)


def _record(delivery, code, excerpt, error, final, started) -> str:
    now = timezone.now()
    attempts = delivery.attempts + 1
    Attempt.objects.create(
        delivery=delivery,
        number=attempts,
        status_code=code,
        response_excerpt=excerpt.decode("utf-8", "replace"),
        error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    fields = {
        "attempts": attempts,
        "last_status_code": code,
        "last_error": error,
        "locked_until": None,
    }
    if code is not None and 200 <= code < 300:
        fields.update(status=Delivery.Status.SUCCEEDED, delivered_at=now)
    elif final or now - delivery.created_at >= dt.timedelta(hours=conf("RETRY_HOURS")):
        fields.update(status=Delivery.Status.GAVE_UP)
    else:
        fields.update(status=Delivery.Status.FAILED, next_attempt_at=now + backoff(attempts))
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    instruments.WEBHOOK_DELIVERIES.labels(result=fields["status"]).inc()
    return fields["status"]


def deliveries_retry() -> int:
    """The `webhooks_retry` job: every failed delivery now due, and every one whose
    sender died mid-send, goes back to the outbox (pending, one outbox row each)."""
    now = timezone.now()
    due = Q(status=Delivery.Status.FAILED, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, locked_until__lt=now
    )
    with transaction.atomic():
        rows = Delivery.objects.filter(due).order_by("next_attempt_at")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.values_list("pk", flat=True)[:BATCH])
        Delivery.objects.filter(due, pk__in=ids).update(
            status=Delivery.Status.PENDING, locked_until=None
        )
        enqueue_many(_task(), [((pk,), {}) for pk in ids])
    return len(ids)
