"""Webhooks: subscriptions (admins), the outbox receiver, and sending with retries.

Flow: every service records a ThreadEvent; `threads.signals.event_recorded` is sent
inside that transaction and `outbox_write` inserts one Delivery per matching
subscription there, so the outbox commits or rolls back with the change. On commit the
send task is enqueued; if the broker is down nothing is lost: the `webhooks_retry` cron
job sends every due delivery. Each try is signed (HMAC-SHA256 over
`<timestamp>.<body>`), logged (status, body excerpt, duration) and, on failure,
retried with exponential backoff for settings.HELPDESK_WEBHOOKS["RETRY_HOURS"].
"""

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.actors import actor_user, is_agent
from accounts.errors import NotVisible, PermissionRefused, ValidationFailed
from threads.models import ThreadEvent
from tickets import config as tickets_config
from tickets.models import Ticket

from .models import Attempt, Delivery, Subscription

log = logging.getLogger(__name__)

ENTRY_KINDS = {ThreadEvent.Kind.MESSAGE, ThreadEvent.Kind.RESPONSE, ThreadEvent.Kind.NOTE}
EVENTS = sorted(
    {"entry.created"} | {f"ticket.{k}" for k in ThreadEvent.Kind.values if k not in ENTRY_KINDS}
)
LOCK = dt.timedelta(minutes=2)
EXCERPT_BYTES = 1024
BATCH = 200


def event_name(kind: str) -> str:
    return "entry.created" if kind in ENTRY_KINDS else f"ticket.{kind}"


def conf(name: str):
    return settings.HELPDESK_WEBHOOKS[name]


# --- addresses -------------------------------------------------------------------------


class UrlRefused(Exception):
    pass


def _refused_ip(ip) -> bool:
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def check_url(url: str, *, resolve: bool) -> None:
    """Refuse non-HTTP URLs and, unless settings allow them, private, loopback and
    link-local targets. With `resolve`, every address the host resolves to is checked."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("Only http and https URLs with a host are accepted.")
    if conf("ALLOW_PRIVATE"):
        return
    host = parts.hostname.strip("[]").lower()
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            raise UrlRefused(f"{host} is a loopback address.") from None
        if not resolve:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            raise UrlRefused(f"{host} does not resolve: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for ip in addresses:
        if _refused_ip(ip):
            raise UrlRefused(f"{host} is a private, loopback or link-local address ({ip}).")


# --- subscriptions (admins) --------------------------------------------------------------


def _require_admin(actor) -> None:
    if not (is_agent(actor) and actor.is_helpdesk_admin):
        raise PermissionRefused("Only helpdesk admins manage webhooks.", code="permission_denied")


def _clean(url: str | None, events: list | None) -> None:
    if url is not None:
        try:
            check_url(url, resolve=False)
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
    return Subscription.objects.create(
        name=name,
        url=url,
        events=sorted(set(events)),
        is_active=is_active,
        created_by=actor_user(actor),
    )


def subscription_update(*, actor, subscription: Subscription, **changes) -> Subscription:
    _require_admin(actor)
    _clean(changes.get("url"), changes.get("events"))
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.save()
    return subscription


def subscription_delete(*, actor, subscription: Subscription) -> None:
    _require_admin(actor)
    subscription.delete()


def subscriptions_visible_to(*, user):
    if not (is_agent(user) and user.is_helpdesk_admin):
        return Subscription.objects.none()
    return Subscription.objects.all()


def delivery_redeliver(*, actor, delivery: Delivery) -> Delivery:
    _require_admin(actor)
    if delivery.status == Delivery.Status.SENDING:
        raise NotVisible("Delivery is being sent.", code="in_progress")
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=now, created_at=now, locked_until=None
    )
    transaction.on_commit(lambda: enqueue([delivery.pk]), robust=True)
    delivery.refresh_from_db()
    return delivery


# --- the outbox ---------------------------------------------------------------------------


def outbox_write(sender, event: ThreadEvent, **kwargs) -> None:
    """Receiver of event_recorded, inside the change's transaction: one Delivery per
    matching active subscription, and the send enqueued after commit."""
    name = event_name(event.kind)
    snapshot = tickets_config.current()
    active = snapshot.cached("webhooks.active", _active) if snapshot else _active()
    subs = [s for s in active if s.wants(name)]
    if not subs:
        return
    now = timezone.now()
    payload = {
        "event": name,
        "occurred_at": event.created_at or now,
        "actor": event.actor_label,
        "actor_id": event.actor_id,
        "channel": event.channel,
        "kind": event.kind,
        "data": event.data,
        "ticket": _ticket_snapshot(event.thread_id),
    }
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    rows = Delivery.objects.bulk_create(
        Delivery(
            subscription_id=s.pk,
            event=name,
            event_id=event.pk,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        for s in subs
    )
    ids = [r.pk for r in rows if r.pk is not None]
    if not ids:  # backends that do not return ids from bulk inserts
        ids = list(Delivery.objects.filter(event_id=event.pk).values_list("pk", flat=True))
    transaction.on_commit(lambda: enqueue(ids), robust=True)


def _active() -> list[Subscription]:
    """Active subscriptions (id and events): cached in the configuration snapshot."""
    return list(Subscription.objects.filter(is_active=True).only("id", "events"))


def _ticket_snapshot(thread_id: int) -> dict | None:
    row = (
        Ticket.objects.filter(thread_id=thread_id)
        .values(
            "id",
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
            "updated_at",
        )
        .first()
    )
    if row is None:
        return None
    return {
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


def enqueue(ids) -> None:
    """Hand deliveries to Celery; with the broker down they wait for the retry job."""
    from .tasks import deliver_webhook_task

    for pk in ids:
        try:
            deliver_webhook_task.apply_async((pk,), retry=False)
        except Exception as exc:  # broker unreachable: the row is committed, cron sends it
            log.warning("webhook delivery %s not queued (%s); the retry job will send it", pk, exc)


# --- sending -----------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, ... doubling up to 2 hours between tries."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 2 * 3600))


def _claim(pk: int) -> bool:
    now = timezone.now()
    due = Q(status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED], next_attempt_at__lte=now)
    stuck = Q(status=Delivery.Status.SENDING, locked_until__lt=now)
    return bool(
        Delivery.objects.filter(due | stuck, pk=pk).update(
            status=Delivery.Status.SENDING, locked_until=now + LOCK
        )
    )


def _post(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_class(parts.hostname, parts.port, timeout=conf("TIMEOUT_SECONDS"))
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(EXCERPT_BYTES)
    finally:
        conn.close()


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
            check_url(sub.url, resolve=True)
            code, excerpt = _post(sub.url, body, headers)
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
    return fields["status"]


def deliveries_retry() -> int:
    """The cron job: send (or queue) every due delivery, including ones whose worker died."""
    now = timezone.now()
    due = Q(status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED], next_attempt_at__lte=now)
    stuck = Q(status=Delivery.Status.SENDING, locked_until__lt=now)
    ids = list(
        Delivery.objects.filter(due | stuck)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    from .tasks import deliver_webhook_task

    for pk in ids:
        try:
            deliver_webhook_task.apply_async((pk,), retry=False)
        except Exception:  # no broker: send from here
            delivery_send(pk)
    return len(ids)
