"""The helpdesk's process-level Prometheus instruments: what happens in the web and
worker processes (requests and their latency, tickets opened per channel, mail fetched
and failed, outbox work queued and failed, webhook deliveries), counted where it
happens and read by `GET /metrics` (helpdesk.ops.metrics) beside the database figures.

Several processes on a machine (gunicorn's workers, Celery's) each count their own; with
`PROMETHEUS_MULTIPROC_DIR` set (the same folder for all of them: `make serve` sets
var/prometheus, deploy/ /run/helpdesk/prometheus) prometheus_client keeps the values in
files there and `/metrics` adds them up, so any web process answers for the machine.
Without it (`make run`, the tests) the values live in the process.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "helpdesk_http_request_duration_seconds",
    "Time to answer a request, by method, view and status class.",
    ["method", "view", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TICKETS_OPENED = Counter("helpdesk_tickets_opened", "Tickets opened, by channel.", ["channel"])
MAIL_FETCHED = Counter(
    "helpdesk_mail_fetched", "Messages fetched from mailboxes, by mailbox.", ["mailbox"]
)
MAIL_FETCH_FAILURES = Counter(
    "helpdesk_mail_fetch_failures", "Mailbox fetches that failed, by mailbox.", ["mailbox"]
)
OUTBOX_QUEUED = Counter(
    "helpdesk_outbox_queued",
    "Work written to the outbox (notifications, webhooks, ...), by task.",
    ["task"],
)
OUTBOX_FAILED = Counter(
    "helpdesk_outbox_failed",
    "Outbox runs that failed, by task and outcome (retry: tried again later; dead: given up).",
    ["task", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "helpdesk_webhook_deliveries",
    "Webhook delivery attempts, by result (succeeded, failed, gave_up).",
    ["result"],
)


def ticket_opened(sender, ticket, channel, **kwargs) -> None:
    """Receiver of tickets.signals.ticket_created (connected in helpdesk.ops.apps)."""
    TICKETS_OPENED.labels(channel=str(channel or "unknown")).inc()
