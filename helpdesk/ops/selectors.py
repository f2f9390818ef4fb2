"""What the health page shows, and the problems the panel's banner names to admins."""

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import Count, Min, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

if TYPE_CHECKING:
    from helpdesk.mail.models import Mailbox

from . import checks
from .models import JobRun, JobState, Result
from .runs import interval

BANNER_KEY = "helpdesk:ops:banner"
BANNER_SECONDS = 60
# A job is named once it has failed (or not run) for longer than its interval, and never
# sooner than this: a job every five seconds (outbox_drain) that fails once, or runs a
# little late behind a long run, is not yet something for an admin.
JOB_ALERT_FLOOR = dt.timedelta(minutes=5)
MAILBOX_ALERT = dt.timedelta(hours=1)  # a mailbox failing this long is named
MAIL_ALERT = dt.timedelta(hours=1)  # mail waiting, or failing, this long is named
DAY = dt.timedelta(days=1)
SEND_TASK = "helpdesk.mail.tasks.send_outbound_task"
RECENT = 10  # failures listed on the page


def may_see_health(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_helpdesk_admin)


# --- jobs --------------------------------------------------------------------------------
@dataclass
class JobHealth:
    name: str
    interval: dt.timedelta
    state: JobState | None
    now: dt.datetime

    @property
    def next_run(self) -> dt.datetime | None:
        """When the schedule runs it next (None: never ran, due now)."""
        if self.state is None or self.state.last_started_at is None:
            return None
        return self.state.last_started_at + self.interval

    @property
    def grace(self) -> dt.timedelta:
        return max(self.interval, JOB_ALERT_FLOOR)

    @property
    def late(self) -> bool:
        """Not run for longer than its interval (five minutes at least) after it was due."""
        due = self.next_run
        return due is not None and self.now - due > self.grace

    @property
    def failing(self) -> bool:
        """Failing for longer than its interval (five minutes at least)."""
        since = self.state.failing_since if self.state else None
        return since is not None and self.now - since > self.grace


def jobs(now: dt.datetime | None = None) -> list[JobHealth]:
    from helpdesk.cron import JOBS

    now = now or timezone.now()
    states = {s.job: s for s in JobState.objects.filter(job__in=list(JOBS))}
    return [JobHealth(name, interval(name), states.get(name), now) for name in JOBS]


# --- mailboxes ---------------------------------------------------------------------------
def failing_for(mailbox, now: dt.datetime) -> dt.timedelta:
    """How long the mailbox has been failing, at least: its failed fetches came one
    fetch interval apart (ten minutes once it backs off), the last at last_error_at."""
    from helpdesk.mail.fetching import BACKOFF, BACKOFF_AFTER_ERRORS

    if not mailbox.error_count or mailbox.last_error_at is None:
        return dt.timedelta(0)
    every = dt.timedelta(minutes=mailbox.fetch_interval_minutes)
    quick = min(mailbox.error_count, BACKOFF_AFTER_ERRORS) - 1
    slow = max(mailbox.error_count - BACKOFF_AFTER_ERRORS, 0)
    return (now - mailbox.last_error_at) + quick * every + slow * max(every, BACKOFF)


@dataclass
class MailboxHealth:
    mailbox: "Mailbox"
    failing_for: dt.timedelta
    alert: bool  # enabled and failing for an hour


def mailboxes(now: dt.datetime | None = None) -> list[MailboxHealth]:
    from helpdesk.mail.models import Mailbox

    now = now or timezone.now()
    rows = []
    for mailbox in Mailbox.objects.order_by("name"):
        failing = failing_for(mailbox, now)
        rows.append(MailboxHealth(mailbox, failing, mailbox.is_active and failing >= MAILBOX_ALERT))
    return rows


# --- mail and webhooks ---------------------------------------------------------------------
def _first_pk_since(model, field_name: str, since: dt.datetime) -> Coalesce:
    """The pk above which rows are newer than `since` (pks grow with time), as a
    subquery: a walk back from the newest row through one period's rows, not a scan of
    the table (created_at has no index of its own)."""
    older = model.objects.filter(**{f"{field_name}__lt": since}).order_by("-pk")
    return Coalesce(Subquery(older.values("pk")[:1]), Value(0))


@dataclass
class Failures:
    count: int = 0
    recent: list = field(default_factory=list)


def mail_failures(since: dt.datetime) -> Failures:
    from helpdesk.mail.models import OutboundMessage

    S = OutboundMessage.Status
    rows = OutboundMessage.objects.filter(
        pk__gt=_first_pk_since(OutboundMessage, "created_at", since),
        status__in=[S.FAILED, S.BOUNCED],
    )
    recent = rows.order_by("-pk").only("recipient", "subject", "status", "error", "created_at")
    return Failures(rows.count(), list(recent[:RECENT]))


def webhook_failures(since: dt.datetime) -> Failures:
    from helpdesk.webhooks.models import Delivery

    S = Delivery.Status
    rows = Delivery.objects.filter(
        pk__gt=_first_pk_since(Delivery, "created_at", since), status__in=[S.FAILED, S.GAVE_UP]
    )
    recent = rows.select_related("subscription").order_by("-pk")
    return Failures(rows.count(), list(recent[:RECENT]))


def outbox(now: dt.datetime) -> dict:
    """Work waiting in the outbox (helpdesk.outbox): how much, since when, given up."""
    from helpdesk.outbox.models import OutboxTask

    S = OutboxTask.State
    return OutboxTask.objects.aggregate(
        waiting=Count("pk", filter=Q(state__in=[S.PENDING, S.RUNNING])),
        oldest=Min("created_at", filter=Q(state__in=[S.PENDING, S.RUNNING])),
        dead=Count("pk", filter=Q(state=S.DEAD)),
    )


def health(now: dt.datetime | None = None) -> dict:
    """Everything the health page shows."""
    now = now or timezone.now()
    reach = checks.run(["database", "cache", "broker", "storage"])
    return {
        "now": now,
        "jobs": jobs(now),
        "running": list(
            JobRun.objects.filter(result=Result.RUNNING).order_by("-started_at")[:RECENT]
        ),
        "mailboxes": mailboxes(now),
        "mail": mail_failures(now - DAY),
        "webhooks": webhook_failures(now - DAY),
        "outbox": outbox(now),
        "queue_length": checks.queue_length(),
        "checks": reach,
    }


# --- the banner ----------------------------------------------------------------------------
def problems(now: dt.datetime | None = None) -> list[dict]:
    """What has failed for longer than its interval: [{"kind", "name", "since"}]. A few
    small queries (job states, failing mailboxes, the outbox, the last hour's mail)."""
    from helpdesk.mail.models import Mailbox, OutboundMessage
    from helpdesk.outbox.models import OutboxTask

    now = now or timezone.now()
    found: list[dict] = []
    job_list = jobs(now)
    if all(j.state is None for j in job_list):
        found.append({"kind": "no_jobs", "name": "", "since": None})
    for j in job_list:
        if j.state is None:
            continue
        if j.failing:
            found.append({"kind": "job_failing", "name": j.name, "since": j.state.failing_since})
        elif j.late:
            found.append({"kind": "job_late", "name": j.name, "since": j.state.last_started_at})
    for mailbox in Mailbox.objects.filter(is_active=True, error_count__gt=0):
        if failing_for(mailbox, now) >= MAILBOX_ALERT:
            found.append({"kind": "mailbox", "name": mailbox.name, "since": mailbox.last_error_at})
    stuck = OutboxTask.objects.filter(task=SEND_TASK, created_at__lt=now - MAIL_ALERT)
    oldest = stuck.aggregate(oldest=Min("created_at"))["oldest"]
    failed = OutboundMessage.objects.filter(
        pk__gt=_first_pk_since(OutboundMessage, "created_at", now - MAIL_ALERT),
        status=OutboundMessage.Status.FAILED,
    ).exists()
    if oldest is not None or failed:
        found.append({"kind": "mail", "name": "", "since": oldest})
    return found


def banner_for(user) -> list[dict]:
    """The banner's problems for an admin (cached for a minute); nothing, and no query,
    for anyone else."""
    if not may_see_health(user):
        return []
    found = cache.get(BANNER_KEY)
    if found is None:
        found = problems()
        cache.set(BANNER_KEY, found, BANNER_SECONDS)
    return found
