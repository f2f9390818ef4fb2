"""GET /metrics: the Prometheus text format for scrapers; off unless a token or allowed
addresses are set, then only for them; a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from helpdesk.cron import JOBS
from helpdesk.mail.models import Mailbox
from helpdesk.ops.models import JobState, Result
from helpdesk.outbox.models import OutboxTask
from helpdesk.webhooks.models import Delivery, Subscription
from tickets.models import Ticket, TicketStatus

from ..factories import open_ticket

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-metrics-token"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []


def scrape(**extra):
    return Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **extra)


def samples(response) -> dict[tuple[str, tuple], float]:
    """{(name, ((label, value), ...)): value} of a scrape."""
    text = response.content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def ago(**kw) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kw)


def mailbox(name: str, **kw) -> Mailbox:
    return Mailbox.objects.create(
        name=name, address=f"{name.lower()}@example.test", host="imap.example.test", **kw
    )


def outbox_task(state: str) -> OutboxTask:
    now = timezone.now()
    return OutboxTask.objects.create(task="t", state=state, created_at=now, next_attempt_at=now)


def delivery(sub, status, hours):
    Delivery.objects.create(
        subscription=sub,
        event="ticket.created",
        payload={},
        status=status,
        next_attempt_at=ago(hours=hours),
        created_at=ago(hours=hours),
    )


# --- access ------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token_or_addresses(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []

    assert scrape().status_code == 404
    assert Client().get("/metrics").status_code == 404


def test_only_the_bearer_token_opens_them(token):
    missing = Client().get("/metrics")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    basic = Client().get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    right = scrape()

    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"helpdesk_" not in refused.content
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain; version=")
    assert right["Cache-Control"] == "no-store"


def test_an_allowed_address_needs_no_token_and_a_forged_forward_is_not_believed(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.0.2.9"]
    settings.TRUSTED_PROXIES = []

    inside = Client().get("/metrics", REMOTE_ADDR="10.1.2.3")
    exact = Client().get("/metrics", REMOTE_ADDR="192.0.2.9")
    outside = Client().get("/metrics", REMOTE_ADDR="203.0.113.5")
    forged = Client().get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.1.2.3")

    assert (inside.status_code, exact.status_code) == (200, 200)
    assert (outside.status_code, forged.status_code) == (401, 401)
    assert "WWW-Authenticate" not in outside  # no token to offer


def test_behind_a_trusted_proxy_the_forwarded_address_decides(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.TRUSTED_PROXIES = ["192.0.2.1"]

    via_proxy = Client().get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.2.3")
    outsider = Client().get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert (via_proxy.status_code, outsider.status_code) == (200, 401)


def test_any_host_and_plain_http_like_the_probes(token, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["helpdesk.example"]

    assert scrape(HTTP_HOST="10.0.0.7:8000").status_code == 200


# --- content -----------------------------------------------------------------------------


def test_the_series_say_what_the_database_holds(token, cast):
    pending = TicketStatus.objects.create(name="Pending", state="open")
    a1 = open_ticket(cast.alice, department=cast.dept_a)
    a2 = open_ticket(cast.alice, department=cast.dept_a)
    open_ticket(cast.bob, department=cast.dept_b)
    closed = open_ticket(cast.bob, department=cast.dept_b)
    Ticket.objects.filter(pk=a2.pk).update(status=pending, is_overdue=True)
    Ticket.objects.filter(pk=closed.pk).update(state="closed", is_overdue=True)
    open_status = a1.status.name

    OutboxTask.objects.all().delete()  # what opening the tickets queued
    for state in ("pending", "pending", "dead"):
        outbox_task(state)
    sub = Subscription.objects.create(name="CRM", url="http://hooks.example/x", events=["*"])
    delivery(sub, Delivery.Status.GAVE_UP, 30)  # older than a day (ids grow with time)
    delivery(sub, Delivery.Status.GAVE_UP, 5)
    delivery(sub, Delivery.Status.FAILED, 1)
    delivery(sub, Delivery.Status.SUCCEEDED, 1)
    finished = timezone.now().replace(microsecond=0)
    JobState.objects.create(
        job="overdue_sweep",
        last_started_at=finished,
        last_finished_at=finished,
        last_duration_ms=1500,
        last_result=Result.OK,
        last_ok_at=finished,
    )
    JobState.objects.create(
        job="purge_locks", last_duration_ms=20, last_result=Result.FAILED, last_ok_at=None
    )
    broken = mailbox("Support", error_count=3)
    fine = mailbox("Sales", is_active=False)

    got = samples(scrape())

    def opened(status, dept):
        labels = (("department", dept.name), ("department_id", str(dept.pk)), ("status", status))
        return got.get(("helpdesk_tickets_open", labels))

    assert opened(open_status, cast.dept_a) == 1
    assert opened("Pending", cast.dept_a) == 1
    assert opened(open_status, cast.dept_b) == 1  # the closed one is not counted
    assert len([k for k in got if k[0] == "helpdesk_tickets_open"]) == 3
    assert got[("helpdesk_tickets_overdue", ())] == 1
    assert got[("helpdesk_outbox_tasks", (("state", "pending"),))] == 2
    assert got[("helpdesk_outbox_tasks", (("state", "running"),))] == 0
    assert got[("helpdesk_outbox_tasks", (("state", "dead"),))] == 1
    assert got[("helpdesk_webhook_failures_last_day", ())] == 2
    job = (("job", "overdue_sweep"),)
    assert got[("helpdesk_job_last_success_timestamp_seconds", job)] == finished.timestamp()
    assert got[("helpdesk_job_last_duration_seconds", job)] == 1.5
    assert ("helpdesk_job_last_success_timestamp_seconds", (("job", "purge_locks"),)) not in got
    assert got[("helpdesk_job_last_duration_seconds", (("job", "purge_locks"),))] == 0.02
    box = (("active", "true"), ("mailbox", "Support"), ("mailbox_id", str(broken.pk)))
    assert got[("helpdesk_mailbox_fetch_errors", box)] == 3
    box = (("active", "false"), ("mailbox", "Sales"), ("mailbox_id", str(fine.pk)))
    assert got[("helpdesk_mailbox_fetch_errors", box)] == 0


def test_label_values_are_escaped(token, cast):
    mailbox('Odd "name"\\ here')

    text = scrape().content.decode()

    assert 'mailbox="Odd \\"name\\"\\\\ here"' in text


def test_a_scrape_costs_the_same_queries_whatever_the_numbers(token, cast):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert scrape().status_code == 200
        return len(queries)

    small = count()
    for n in range(6):
        open_ticket(cast.alice, department=cast.dept_a if n % 2 else cast.dept_b)
        mailbox(f"Box{n}", error_count=n)
        TicketStatus.objects.create(name=f"Status {n}", state="open")
    for name in list(JOBS)[:4]:
        JobState.objects.create(job=name, last_ok_at=ago(minutes=1), last_duration_ms=5)

    assert count() == small
    assert small <= 5


# --- the processes' instruments (issue 18) -------------------------------------------------


def _value(samples_, name, **labels):
    return samples_.get((name, tuple(sorted(labels.items()))), 0.0)


def test_loopback_is_allowed_by_default_but_not_through_an_untrusted_proxy(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "::1"]  # the default
    settings.TRUSTED_PROXIES = []

    local = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    # nginx on the same machine forwarding an outsider: the address is nginx's loopback
    forwarded = Client().get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5"
    )
    assert (local.status_code, forwarded.status_code) == (200, 401)


def test_requests_tickets_outbox_mail_and_webhooks_are_counted(
    token, cast, django_capture_on_commit_callbacks
):
    import time

    from helpdesk.mail.fetching import FetchReport, _count
    from helpdesk.outbox.services import enqueue
    from helpdesk.tasks import run_cron_job_task
    from helpdesk.webhooks.services import _record

    before = samples(scrape())
    assert Client().get("/scp/login/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the signal is sent on commit
        open_ticket(cast.alice, department=cast.dept_a, channel="api")
    enqueue(run_cron_job_task, "purge_locks")
    box = mailbox("Support")
    _count(box, FetchReport(mailbox="Support", fetched=3), "")
    _count(box, FetchReport(mailbox="Support"), "connection refused")
    sub = Subscription.objects.create(name="hook", url="https://hooks.example/x", events=["*"])
    delivery(sub, Delivery.Status.PENDING, 0)
    _record(Delivery.objects.get(), 500, b"", "HTTP 500", False, time.monotonic())
    after = samples(scrape())

    def grew(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    login = {"method": "GET", "view": "panel:login", "status": "2xx"}
    assert grew("helpdesk_http_request_duration_seconds_count", **login) == 1
    assert grew("helpdesk_tickets_opened_total", channel="api") == 1
    assert grew("helpdesk_outbox_queued_total", task=run_cron_job_task.name) == 1
    assert grew("helpdesk_mail_fetched_total", mailbox="Support") == 3
    assert grew("helpdesk_mail_fetch_failures_total", mailbox="Support") == 1
    assert grew("helpdesk_webhook_deliveries_total", result="failed") == 1


def test_the_processes_of_a_machine_are_added_up(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR (make serve, deploy/), each process writes its
    counts to the shared folder and any process's scrape reports the sum."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "SECRET_KEY": "x",
           "DJANGO_SETTINGS_MODULE": "config.settings"}  # fmt: skip
    count = (
        "import django; django.setup(); from helpdesk.ops import instruments; "
        "instruments.TICKETS_OPENED.labels(channel='email').inc({n})"
    )
    for n in (2, 5):
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", count.format(n=n)], cwd=root, env=env, check=True
        )
    scrape_code = (
        "import django; django.setup(); "
        "from prometheus_client import generate_latest; "
        "from helpdesk.ops.metrics import Scrape; "
        "import helpdesk.ops.metrics as m; m.HelpdeskCollector.collect = lambda self: iter(()); "
        "print(generate_latest(Scrape()).decode())"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", scrape_code], cwd=root, env=env, check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert 'helpdesk_tickets_opened_total{channel="email"} 7.0' in out
