"""The outbox: work written in the change's transaction, offered to a broker on commit
only when there is one, claimed once, retried with backoff, recovered when its worker
died, and announced by every service from inside its transaction."""

import datetime as dt

import pytest
import time_machine
from celery import shared_task
from django.db import connection, transaction
from django.utils import timezone

from accounts import bus
from accounts.errors import PermissionRefused
from accounts.services import user_create
from helpdesk.cron import run_job
from helpdesk.outbox import services
from helpdesk.outbox.models import OutboxTask
from tickets import services as tickets
from tickets import signals
from tickets.models import Priority, TicketStatus

from ..factories import open_ticket
from ..redis_process import celery_broker

RUNS: list = []


@shared_task
def record_task(value, fail_times=0):
    """A test task: records each run; fails its first `fail_times` runs."""
    RUNS.append(value)
    if RUNS.count(value) <= fail_times:
        raise RuntimeError(f"failing run {RUNS.count(value)}")


@pytest.fixture(autouse=True)
def _runs():
    RUNS.clear()


def test_a_row_rolls_back_with_its_change(cast):
    with pytest.raises(RuntimeError), transaction.atomic():
        open_ticket(cast.alice, department=cast.dept_a)
        assert OutboxTask.objects.count() == 1  # the new-ticket notification
        raise RuntimeError("the change fails after it was announced")

    assert not OutboxTask.objects.exists()


def test_without_a_broker_nothing_runs_at_commit_and_the_job_runs_it(
    db, django_capture_on_commit_callbacks
):
    with celery_broker("memory://"):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.enqueue(record_task, "a")
        assert callbacks == []  # nothing offered, nothing run in the request
        assert RUNS == []

        assert run_job("outbox_drain") == 1

    assert RUNS == ["a"]
    assert not OutboxTask.objects.exists()


def test_a_row_offered_twice_runs_once(db):
    row = services.enqueue(record_task, "once")

    assert services.outbox_run(row.pk) == "done"
    assert services.outbox_run(row.pk) is None  # the broker's copy, or the job's
    assert RUNS == ["once"]


def test_a_failing_task_is_retried_with_backoff_then_kept_as_dead(db, settings):
    settings.HELPDESK_OUTBOX = {**settings.HELPDESK_OUTBOX, "MAX_ATTEMPTS": 3}
    row = services.enqueue(record_task, "flaky", fail_times=5)
    start = timezone.now()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: start)
        assert services.outbox_run(row.pk) == "retry"
    row.refresh_from_db()
    assert (row.state, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        start + dt.timedelta(seconds=30),
    )
    assert row.last_error == "RuntimeError: failing run 1"
    assert services.outbox_run(row.pk, now=start + dt.timedelta(seconds=10)) is None  # not due

    assert services.outbox_drain(now=start + dt.timedelta(hours=1)) == 2
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == ("dead", 3, "RuntimeError: failing run 3")
    assert services.outbox_drain(now=start + dt.timedelta(days=1)) == 0  # dead stays dead

    with pytest.raises(PermissionRefused):
        services.outbox_retry(actor=cast_agent(), ids=[row.pk])
    RUNS.clear()
    row.args, row.kwargs = ["fixed"], {}  # the cause is fixed
    row.save()
    assert services.outbox_retry(actor=cast_admin(), ids=[row.pk]) == 1
    assert run_job("outbox_drain") == 1
    assert RUNS == ["fixed"] and not OutboxTask.objects.exists()


def cast_agent():
    from ..factories import AgentFactory

    return AgentFactory(username="plain")


def cast_admin():
    from ..factories import AgentFactory

    return AgentFactory(username="boss", is_helpdesk_admin=True)


def test_a_row_whose_worker_died_runs_again_after_its_lease(db):
    row = services.enqueue(record_task, "orphan")
    OutboxTask.objects.filter(pk=row.pk).update(
        state="running", attempts=1, taken_until=timezone.now() + services.LEASE
    )
    assert services.outbox_drain() == 0  # still leased: its worker may be running it
    assert RUNS == []

    assert services.outbox_drain(now=timezone.now() + services.LEASE + dt.timedelta(seconds=1))
    assert RUNS == ["orphan"] and not OutboxTask.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_service_announces_its_change_inside_its_transaction(cast):
    """In-transaction receivers (the outbox writers) see an open transaction for every
    signal a service sends: their rows commit or roll back with the change."""
    seen = []

    def inside(sender, signal=None, **kwargs):
        seen.append(connection.in_atomic_block)

    names = [n for n in dir(signals) if n.startswith("ticket") and n != "ticket_pre_open"]
    for name in names:
        bus.connect_in_transaction(getattr(signals, name), inside, dispatch_uid=f"t.{name}")
    try:
        _every_kind_of_change(cast)
    finally:
        for name in names:
            bus.disconnect_in_transaction(getattr(signals, name), dispatch_uid=f"t.{name}")

    assert len(seen) >= 15
    assert set(seen) == {True}


def _every_kind_of_change(cast):
    agent, alice = cast.agent_a, cast.alice
    ticket = open_ticket(alice, department=cast.dept_a)
    other = open_ticket(alice, department=cast.dept_a, subject="Other")
    tickets.ticket_post_message(actor=alice, ticket=ticket, body="More")
    tickets.ticket_post_reply(actor=agent, ticket=ticket, body="Hi")
    tickets.ticket_post_note(actor=agent, ticket=ticket, body="Note")
    tickets.ticket_assign(actor=agent, ticket=ticket, agent=cast.admin)
    tickets.ticket_release(actor=agent, ticket=ticket)
    tickets.ticket_claim(actor=agent, ticket=ticket)
    tickets.ticket_set_priority(
        actor=agent, ticket=ticket, priority=Priority.objects.get(name="High")
    )
    tickets.ticket_set_due_date(
        actor=agent, ticket=ticket, due_at=timezone.now() + dt.timedelta(days=2)
    )
    tickets.ticket_mark_answered(actor=agent, ticket=ticket, answered=False)
    tickets.ticket_edit(actor=agent, ticket=ticket, subject="Edited")
    tickets.ticket_add_collaborator(actor=agent, ticket=ticket, user=cast.alice_colleague)
    tickets.ticket_remove_collaborator(actor=agent, ticket=ticket, user=cast.alice_colleague)
    tickets.ticket_link(actor=agent, ticket=ticket, other=other)
    tickets.ticket_unlink(actor=agent, ticket=ticket, other=other)
    tickets.ticket_refer(actor=agent, ticket=ticket, department=cast.dept_b)
    tickets.ticket_merge(actor=cast.admin, ticket=ticket, sources=[other])
    tickets.ticket_unmerge(actor=cast.admin, ticket=other)
    tickets.ticket_split(
        actor=agent, ticket=ticket, entry=ticket.thread.entries.first(), subject="Split"
    )
    tickets.ticket_set_status(
        actor=agent, ticket=ticket, status=TicketStatus.objects.get(name="Closed")
    )
    tickets.ticket_transfer(
        actor=cast.admin,
        ticket=open_ticket(alice, department=cast.dept_a),
        department=cast.dept_b,
    )
    user_create(actor=cast.admin, email="new@example.test")


@pytest.mark.redis_server
def test_a_queue_no_worker_consumes_gets_each_row_a_few_times_not_once_a_minute(db, redis_process):
    """Redis is up, no worker runs: the job hands a waiting row again after as long as
    it has waited (60 s, 2, 4, 8 ... minutes, at most an hour), not every minute."""
    start = timezone.now()
    with celery_broker(redis_process.url(0)):
        with time_machine.travel(start, tick=False):
            row = services.enqueue(record_task, "waiting")  # handed on commit
        assert row.offered_at == start
        for seconds in range(0, 3600, 15):  # the job, every 15 s for an hour
            services.outbox_drain(now=start + dt.timedelta(seconds=seconds))

    queued = redis_process.client(0).llen("celery")
    assert queued == 6  # again at 1, 2, 4, 8, 16 and 32 minutes; was 59 copies
    row.refresh_from_db()
    assert row.offered_at == start + dt.timedelta(seconds=1920)
    assert row.reoffer_at == start + dt.timedelta(seconds=3840)
    assert RUNS == []
    assert services.reoffer_delay(dt.timedelta(hours=5)) == dt.timedelta(hours=1)


@pytest.mark.parametrize("lease", [None, "20"])
def test_the_time_limits_and_the_mail_lease_follow_the_outbox_lease(tmp_path, lease):
    """OUTBOX_LEASE_SECONDS sets the lease; a live runner is stopped before it ends (the
    outbox task's time limits), and a mail's claim ends first, so the row that runs
    again after a dead runner finds its mail free to send."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django, json; django.setup()\n"
        "from helpdesk.outbox.services import LEASE\n"
        "from helpdesk.outbox.tasks import run_outbox_task as o\n"
        "from helpdesk.mail.tasks import SEND_LEASE, send_outbound_task as s\n"
        "print(json.dumps([LEASE.total_seconds(), o.time_limit, o.soft_time_limit,"
        " SEND_LEASE.total_seconds(), s.time_limit, s.soft_time_limit]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OUTBOX_LEASE_SECONDS"}
    env.update(ENV_FILE=str(tmp_path / "absent.env"), DJANGO_SETTINGS_MODULE="config.settings")
    if lease:
        env["OUTBOX_LEASE_SECONDS"] = lease
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    seconds, hard, soft, send_lease, send_hard, send_soft = json.loads(done.stdout)
    assert seconds == (float(lease) if lease else 600.0)
    assert soft < hard < seconds
    assert send_soft < send_hard < send_lease < seconds
    if not lease:  # the defaults as they were before the setting
        assert (hard, soft, send_lease, send_hard, send_soft) == (540, 480, 300, 180, 150)


def _committing_view(response_class=None):
    """A view that commits one outbox row, as a ticket create does."""
    from django.http import HttpResponse, StreamingHttpResponse

    def view(request):
        with transaction.atomic():
            services.enqueue(record_task, "after")
        if response_class is StreamingHttpResponse:
            return StreamingHttpResponse(iter([b"a", b"b"]))
        return HttpResponse(b"done")

    return view


@pytest.mark.redis_server
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_a_request_the_broker_is_offered_the_row_once_the_response_is_sent(redis_process, rf):
    """The response is ready before the broker's round trip; the WSGI server's close()
    of it offers the committed rows (outside a request they are offered on commit)."""
    queue = redis_process.client(0)
    with celery_broker(redis_process.url(0)):
        response = services.AfterResponseMiddleware(_committing_view())(rf.post("/"))
        assert OutboxTask.objects.filter(state="pending").count() == 1  # committed
        assert queue.llen("celery") == 0  # not offered yet: the client has its answer
        response.close()
        assert queue.llen("celery") == 1

        services.enqueue(record_task, "outside")  # no request: offered on commit
        assert queue.llen("celery") == 2
    assert RUNS == []


@pytest.mark.redis_server
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_streamed_response_does_not_hold_its_rows(redis_process, rf):
    from django.http import StreamingHttpResponse

    queue = redis_process.client(0)
    with celery_broker(redis_process.url(0)):
        view = _committing_view(StreamingHttpResponse)
        response = services.AfterResponseMiddleware(view)(rf.get("/"))
        assert queue.llen("celery") == 1  # a long download would have kept it waiting
        response.close()
        assert queue.llen("celery") == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rows_a_dead_broker_refused_after_the_response_are_left_to_the_job(rf, caplog):
    """Nothing is lost when the offer after the response fails: the row stays pending,
    marked for the periodic job's next run."""
    with celery_broker("redis://127.0.0.1:9/0"):  # nothing listens on the discard port
        response = services.AfterResponseMiddleware(_committing_view())(rf.post("/"))
        response.close()  # the broker refuses: the breaker trips, no error escapes
        row = OutboxTask.objects.get()
        assert (row.state, row.offered_at) == ("pending", None)
        assert "broker unreachable" in caplog.text

        assert run_job("outbox_drain") == 1  # the job runs it in-process
    assert RUNS == ["after"]


@pytest.mark.redis_server
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rows_committed_before_a_view_raised_are_offered_and_the_error_goes_on(redis_process, rf):
    def view(request):
        with transaction.atomic():
            services.enqueue(record_task, "before the error")
        raise RuntimeError("the view failed after its change committed")

    queue = redis_process.client(0)
    with celery_broker(redis_process.url(0)):
        with pytest.raises(RuntimeError, match="after its change committed"):
            services.AfterResponseMiddleware(view)(rf.post("/"))
        assert queue.llen("celery") == 1  # no response will be closed: offered now
