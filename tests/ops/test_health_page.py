"""The admins' system health page (/scp/health/) and the panel's banner: shown to
admins only, and only for what has failed for longer than its interval."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.cron import JOBS
from helpdesk.mail.models import Mailbox, OutboundMessage
from helpdesk.ops.models import JobState, Result
from helpdesk.ops.runs import interval
from helpdesk.ops.selectors import banner_for
from helpdesk.outbox.models import OutboxTask
from helpdesk.webhooks.models import Delivery, Subscription
from tests.panel.conftest import signed_in

HEALTH = "/scp/health/"
DASHBOARD = "/scp/dashboard/"


def all_jobs_ran(now=None, **overrides):
    now = now or timezone.now()
    for name in JOBS:
        JobState.objects.update_or_create(
            job=name,
            defaults={
                "last_started_at": now,
                "last_finished_at": now,
                "last_duration_ms": 12,
                "last_result": Result.OK,
                "last_ok_at": now,
                **overrides.get(name, {}),
            },
        )


def mailbox(name="Support", **kw) -> Mailbox:
    return Mailbox.objects.create(
        name=name,
        address=f"{name.lower()}@example.test",
        host="imap.example.test",
        username="u",
        fetch_interval_minutes=5,
        **kw,
    )


def ago(**kw) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kw)


@pytest.fixture
def as_admin(cast):
    return signed_in(cast.admin)


def banner(response) -> str:
    html = response.content.decode()
    start = html.find('class="msg error ops-banner"')
    return "" if start < 0 else html[start : html.find("</div>", start)]


def test_all_well_shows_every_job_and_no_banner(as_admin, db):
    all_jobs_ran()
    mailbox(last_fetch_at=ago(minutes=2))

    response = as_admin.get(HEALTH)

    assert response.status_code == 200
    html = response.content.decode()
    for name in JOBS:
        assert f'data-job="{name}"' in html
    assert 'class="bad"' not in html
    assert 'data-mailbox="Support"' in html
    assert banner(response) == ""
    assert response.context["checks"] == {
        "database": True,
        "cache": True,
        "broker": True,
        "storage": True,
    }
    job = next(j for j in response.context["jobs"] if j.name == "purge_locks")
    assert job.next_run == job.state.last_started_at + interval("purge_locks")


def test_a_mailbox_failing_for_an_hour_is_named_in_the_banner(as_admin, db):
    all_jobs_ran()
    # 13 failed fetches: 4 five minutes apart, then 8 ten minutes apart (backing off)
    mailbox(error_count=13, last_error="LOGIN failed", last_error_at=ago(minutes=1))
    mailbox("Sales", error_count=2, last_error="timed out", last_error_at=ago(minutes=1))

    response = as_admin.get(DASHBOARD)

    text = banner(response)
    assert "Mailbox Support has been failing" in text and "Sales" not in text
    page = as_admin.get(HEALTH).content.decode()
    assert '<tr data-mailbox="Support" class="bad">' in page
    assert '<tr data-mailbox="Sales">' in page  # failing, not for an hour yet
    assert "LOGIN failed" in page


def test_a_disabled_failing_mailbox_raises_no_banner(as_admin, db):
    all_jobs_ran()
    mailbox(error_count=30, last_error="x", last_error_at=ago(hours=5), is_active=False)

    assert banner(as_admin.get(DASHBOARD)) == ""


def test_a_job_not_run_for_longer_than_its_interval_is_named(as_admin, db):
    every = interval("overdue_sweep")
    all_jobs_ran(overdue_sweep={"last_started_at": ago(seconds=2 * every.total_seconds() + 60)})

    response = as_admin.get(DASHBOARD)

    assert "Job overdue_sweep has not run for" in banner(response)
    page = as_admin.get(HEALTH).content.decode()
    assert '<tr data-job="overdue_sweep" class="bad">' in page and "late" in page


def test_a_job_just_due_is_not_named(as_admin, db):
    every = interval("overdue_sweep")
    all_jobs_ran(overdue_sweep={"last_started_at": ago(seconds=1.5 * every.total_seconds())})

    assert banner(as_admin.get(DASHBOARD)) == ""


def test_a_frequent_job_is_named_only_after_five_minutes(as_admin, db):
    """outbox_drain runs every five seconds: one failure, or a minute's delay behind a
    long run, is not yet something for an admin; five minutes are."""
    failing = {"last_result": Result.FAILED, "last_error": "x"}
    all_jobs_ran(
        outbox_drain={**failing, "failing_since": ago(minutes=4)},
        webhooks_retry={"last_started_at": ago(minutes=5)},  # every minute: due 4 min ago
    )
    assert banner(as_admin.get(DASHBOARD)) == ""

    cache.clear()
    all_jobs_ran(
        outbox_drain={**failing, "failing_since": ago(minutes=6)},
        webhooks_retry={"last_started_at": ago(minutes=7)},
    )
    text = banner(as_admin.get(DASHBOARD))
    assert "Job outbox_drain has been failing" in text
    assert "Job webhooks_retry has not run" in text


def test_a_job_failing_longer_than_its_interval_is_named_with_its_error(as_admin, db):
    failing = {"last_result": Result.FAILED, "last_error": "RuntimeError: disk full"}
    all_jobs_ran(
        purge_locks={
            **failing,
            "failing_since": ago(seconds=interval("purge_locks").total_seconds() + 5),
        },
        purge_drafts={**failing, "failing_since": ago(seconds=5)},  # once, just now
    )

    response = as_admin.get(DASHBOARD)

    text = banner(response)
    assert "Job purge_locks has been failing" in text and "purge_drafts" not in text
    page = as_admin.get(HEALTH).content.decode()
    assert "RuntimeError: disk full" in page


def test_jobs_that_never_ran_are_named(as_admin, db):
    assert "never run" in banner(as_admin.get(DASHBOARD))


def test_mail_waiting_for_over_an_hour_is_named(as_admin, db):
    all_jobs_ran()
    OutboxTask.objects.create(
        task="helpdesk.mail.tasks.send_outbound_task",
        args=[1],
        created_at=ago(hours=2),
        next_attempt_at=ago(minutes=1),
    )

    assert "Mail is not being sent" in banner(as_admin.get(DASHBOARD))


def test_mail_failing_in_the_last_hour_is_named(as_admin, db):
    all_jobs_ran()
    OutboundMessage.objects.create(
        message_id="<m@x>",
        template="t",
        dedupe_key="k",
        recipient="a@b.test",
        from_email="s@x",
        subject="s",
        body_text="b",
        status=OutboundMessage.Status.FAILED,
        error="550 no",
    )

    assert "Mail is not being sent" in banner(as_admin.get(DASHBOARD))


def test_failures_of_the_last_day_are_counted(as_admin, db):
    all_jobs_ran()
    S = OutboundMessage.Status
    for n, (status, hours) in enumerate(
        [(S.FAILED, 30), (S.FAILED, 5), (S.BOUNCED, 3), (S.SENT, 2)]
    ):
        row = OutboundMessage.objects.create(
            message_id=f"<m{n}@x>",
            template="t",
            dedupe_key=f"k{n}",
            recipient=f"r{n}@b.test",
            from_email="s@x",
            subject="s",
            body_text="b",
            status=status,
            error=f"err {n}",
        )
        OutboundMessage.objects.filter(pk=row.pk).update(created_at=ago(hours=hours))
    sub = Subscription.objects.create(name="CRM", url="http://hooks.example/x", events=["*"])
    for status, hours in [(Delivery.Status.GAVE_UP, 30), (Delivery.Status.FAILED, 1)]:
        Delivery.objects.create(
            subscription=sub,
            event="ticket.created",
            payload={},
            status=status,
            next_attempt_at=ago(hours=hours),
            created_at=ago(hours=hours),
            last_error="HTTP 500",
        )

    response = as_admin.get(HEALTH)

    assert response.context["mail"].count == 2
    assert [m.recipient for m in response.context["mail"].recent] == ["r2@b.test", "r1@b.test"]
    assert response.context["webhooks"].count == 1
    assert 'data-count="mail">2<' in response.content.decode()


def test_a_redis_down_is_shown_not_a_500(as_admin, db, settings):
    all_jobs_ran()
    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.REDIS_TIMEOUT_SECONDS = 0.2

    response = as_admin.get(HEALTH)

    assert response.status_code == 200
    assert response.context["checks"]["cache"] is False
    assert response.context["queue_length"] is None
    assert (
        '<tr data-check="cache"><td>cache</td><td><strong class="bad">' in response.content.decode()
    )


# --- who sees it -----------------------------------------------------------------------
def test_agents_who_are_not_admins_are_refused_the_page_and_see_no_banner(cast, db):
    as_agent = signed_in(cast.agent_a)

    assert as_agent.get(HEALTH).status_code == 403
    response = as_agent.get(DASHBOARD)
    assert response.status_code == 200 and banner(response) == ""
    assert "System health" not in response.content.decode()


def test_the_banner_costs_a_non_admin_no_query(cast, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert banner_for(cast.agent_a) == []


def test_signed_out_visitors_are_sent_to_sign_in(db, client):
    response = client.get(HEALTH)
    assert response.status_code == 302 and "/scp/login/" in response["Location"]


def test_the_banner_is_cached_briefly(cast, db):
    all_jobs_ran()
    assert banner_for(cast.admin) == []
    JobState.objects.all().delete()

    with CaptureQueriesContext(connection) as queries:
        assert banner_for(cast.admin) == []  # from the cache
    assert len(queries) == 0
    cache.clear()
    assert [p["kind"] for p in banner_for(cast.admin)] == ["no_jobs"]


def test_the_banner_takes_a_few_queries_whatever_the_number_of_mailboxes(cast, db):
    all_jobs_ran()

    def count() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            banner_for(cast.admin)
        return len(queries)

    few = count()
    for n in range(10):
        mailbox(f"Box{n}", error_count=1, last_error="x", last_error_at=ago(minutes=1))
    assert count() == few <= 4  # job states, failing mailboxes, waiting mail, failed mail


def test_the_page_takes_the_same_queries_for_one_mailbox_or_many(as_admin, db):
    all_jobs_ran()
    mailbox("Box")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert as_admin.get(HEALTH).status_code == 200
        return len(queries)

    as_admin.get(HEALTH)  # the session's and the process's first-request reads
    one = count()
    for n in range(8):
        mailbox(f"Box{n}", error_count=n, last_error="x", last_error_at=ago(minutes=n))
    assert count() == one
