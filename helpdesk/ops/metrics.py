"""`GET /metrics`: the helpdesk's numbers in the Prometheus text format, for scrapers.

Written by `prometheus_client` from one collector that reads the database when scraped
(nothing is counted in process memory, so every web process answers the same): five
small queries whatever the number of tickets, jobs or mailboxes. Off (404) unless
settings.METRICS_TOKEN or settings.METRICS_ALLOWED_IPS is set; then only a caller from
an allowed address (accounts.throttle.client_ip: TRUSTED_PROXIES apply) or with
`Authorization: Bearer <METRICS_TOKEN>` is answered. docs/operations.md lists the series.
"""

import datetime as dt
import hmac
import os
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from accounts.throttle import client_ip, in_networks

from .models import JobState
from .selectors import DAY, _first_pk_since


def enabled() -> bool:
    return bool(settings.METRICS_TOKEN or settings.METRICS_ALLOWED_IPS)


def allowed(request: HttpRequest) -> bool:
    """From an allowed address, or with the bearer token (compared in constant time).
    A request forwarded by a proxy we do not trust has the proxy's address (loopback
    behind nginx on the same machine): only its token counts."""
    proxied_blind = "X-Forwarded-For" in request.headers and not settings.TRUSTED_PROXIES
    if (
        settings.METRICS_ALLOWED_IPS
        and not proxied_blind
        and in_networks(client_ip(request), settings.METRICS_ALLOWED_IPS)
    ):
        return True
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_response(request: HttpRequest) -> HttpResponse:
    if not enabled():
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not allowed(request):
        response = HttpResponse("Not allowed.\n", status=401, content_type="text/plain")
        if settings.METRICS_TOKEN:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(Scrape())
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


class Scrape:
    """What one scrape answers: the processes' instruments (helpdesk.ops.instruments;
    every process of the machine when PROMETHEUS_MULTIPROC_DIR is set) and the
    database's figures."""

    def collect(self) -> Iterator[Metric]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        yield from registry.collect()
        yield from HelpdeskCollector().collect()


class HelpdeskCollector:
    """The series, read when collected (one scrape: one collect)."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or timezone.now()

    def collect(self) -> Iterator[Metric]:
        yield from tickets()
        yield outbox()
        yield webhook_failures(self.now - DAY)
        yield from jobs()
        yield mailbox_errors()
        yield celery_queue()


def tickets() -> Iterator[Metric]:
    """Open tickets by status and department, and the overdue ones among them: one
    grouped query over the open tickets (the state index)."""
    from tickets.models import Ticket

    rows = (
        Ticket.objects.filter(state="open")
        .values("status_id", "status__name", "department_id", "department__name")
        .annotate(n=Count("pk"), overdue=Count("pk", filter=Q(is_overdue=True)))
        .order_by("status_id", "department_id")
    )
    open_ = GaugeMetricFamily(
        "helpdesk_tickets_open",
        "Open tickets, by status and department.",
        labels=["status", "department", "department_id"],
    )
    overdue = GaugeMetricFamily("helpdesk_tickets_overdue", "Open tickets past their due date.")
    total_overdue = 0
    for row in rows:
        labels = [row["status__name"], row["department__name"], str(row["department_id"])]
        open_.add_metric(labels, row["n"])
        total_overdue += row["overdue"]
    overdue.add_metric([], total_overdue)
    yield open_
    yield overdue


def outbox() -> Metric:
    """The outbox's tasks by state: pending, running, dead (given up)."""
    from helpdesk.outbox.models import OutboxTask

    found = dict(
        OutboxTask.objects.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    family = GaugeMetricFamily(
        "helpdesk_outbox_tasks", "Outbox tasks by state (dead: given up).", labels=["state"]
    )
    for state in OutboxTask.State.values:
        family.add_metric([state], found.get(state, 0))
    return family


def webhook_failures(since: dt.datetime) -> Metric:
    """Webhook deliveries created since `since` that failed or were given up."""
    from helpdesk.webhooks.models import Delivery

    S = Delivery.Status
    count = Delivery.objects.filter(
        pk__gt=_first_pk_since(Delivery, "created_at", since), status__in=[S.FAILED, S.GAVE_UP]
    ).count()
    family = GaugeMetricFamily(
        "helpdesk_webhook_failures_last_day",
        "Webhook deliveries of the last 24 hours that failed or were given up.",
    )
    family.add_metric([], count)
    return family


def jobs() -> Iterator[Metric]:
    """Each periodic job's last success (Unix time) and last run's duration; a job that
    never succeeded (or never ran) has no sample."""
    from helpdesk.cron import JOBS

    success = GaugeMetricFamily(
        "helpdesk_job_last_success_timestamp_seconds",
        "When the periodic job last finished without error (Unix time).",
        labels=["job"],
    )
    duration = GaugeMetricFamily(
        "helpdesk_job_last_duration_seconds",
        "How long the periodic job's last finished run took.",
        labels=["job"],
    )
    states = JobState.objects.filter(job__in=list(JOBS)).order_by("job")
    for state in states.only("job", "last_ok_at", "last_duration_ms"):
        if state.last_ok_at is not None:
            success.add_metric([state.job], state.last_ok_at.timestamp())
        if state.last_duration_ms is not None:
            duration.add_metric([state.job], state.last_duration_ms / 1000)
    yield success
    yield duration


def mailbox_errors() -> Metric:
    """Each mailbox's failed fetches in a row (0: its last fetch worked)."""
    from helpdesk.mail.models import Mailbox

    family = GaugeMetricFamily(
        "helpdesk_mailbox_fetch_errors",
        "Failed fetches in a row, per mailbox (0: the last fetch worked).",
        labels=["mailbox", "mailbox_id", "active"],
    )
    rows = Mailbox.objects.order_by("pk").values_list("pk", "name", "is_active", "error_count")
    for pk, name, active, errors in rows:
        family.add_metric([name, str(pk), "true" if active else "false"], errors)
    return family


def celery_queue() -> Metric:
    """Tasks waiting in the Celery queue (Redis LLEN); no sample when it is not known
    (no Redis broker, or Redis does not answer)."""
    from .checks import queue_length

    family = GaugeMetricFamily(
        "helpdesk_celery_queue_length", "Tasks waiting in the Celery queue (Redis broker)."
    )
    waiting = queue_length()
    if waiting is not None:
        family.add_metric([], waiting)
    return family
