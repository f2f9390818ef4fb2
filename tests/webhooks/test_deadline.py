"""A webhook delivery has one deadline for the whole exchange (WEBHOOKS_TIMEOUT_SECONDS),
not per socket read; its lock outlasts that deadline; and a row the periodic job runs
itself stops at its task's time limit."""

import datetime as dt
import socket
import threading
import time

import pytest
import time_machine
from celery import shared_task
from django.utils import timezone

from helpdesk.outbox import services as outbox
from helpdesk.outbox.models import OutboxTask
from helpdesk.webhooks import services
from helpdesk.webhooks.models import Attempt, Delivery, Subscription

from ..factories import open_ticket
from ..redis_process import celery_broker


class DrippingTarget:
    """Reads the request, then answers one byte every `every` seconds for a minute: each
    read gets a byte long before any socket timeout."""

    def __init__(self, every: float = 0.25):
        self.every = every
        self.requests = 0
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        with conn:
            conn.recv(65536)
            self.requests += 1
            answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 240
            for byte in answer:
                if self.stop.wait(self.every):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self):
        self.stop.set()
        self.listener.close()


@pytest.fixture
def dripping(settings):
    settings.HELPDESK_WEBHOOKS = {
        **settings.HELPDESK_WEBHOOKS,
        "ALLOW_PRIVATE": True,
        "TIMEOUT_SECONDS": 1,
    }
    target = DrippingTarget()
    yield target
    target.close()


def test_a_dripping_target_holds_a_delivery_no_longer_than_the_timeout(cast, dripping):
    Subscription.objects.create(name="slow", url=dripping.url, events=["ticket.created"])
    open_ticket(cast.alice, department=cast.dept_a)
    delivery = Delivery.objects.get()

    started = time.monotonic()
    assert services.delivery_send(delivery.pk) == "failed"
    took = time.monotonic() - started

    assert took < 1.6, f"the delivery took {took:.2f} s"
    assert dripping.requests == 1
    [attempt] = Attempt.objects.all()
    assert (attempt.status_code, attempt.error) == (
        None,
        "TimeoutError: no complete answer within 1 s",
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.locked_until) == ("failed", None)  # retried later


def test_a_delivery_being_sent_is_locked_past_its_deadline(cast, settings):
    """Whatever the timeout, the webhooks_retry job never takes back a delivery whose
    sender can still be sending (two POSTs at once); only one whose sender died."""
    settings.HELPDESK_WEBHOOKS = {**settings.HELPDESK_WEBHOOKS, "TIMEOUT_SECONDS": 300}
    Subscription.objects.create(name="x", url="http://hooks.example/x", events=["*"])
    open_ticket(cast.alice, department=cast.dept_a)
    delivery = Delivery.objects.get()
    OutboxTask.objects.all().delete()
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        assert services._claim(delivery.pk)  # a sender took it and is sending
    with time_machine.travel(start + dt.timedelta(seconds=300 + 60), tick=False):
        assert services.deliveries_retry() == 0  # past the deadline, still its sender's
        assert not OutboxTask.objects.exists()
    with time_machine.travel(start + dt.timedelta(seconds=300 + 121), tick=False):
        assert services.deliveries_retry() == 1  # that sender died: sent again
    assert Delivery.objects.get().status == "pending"


RUNS: list = []


@shared_task(soft_time_limit=0.3)
def stuck_task(value):
    RUNS.append(value)
    time.sleep(5)


@shared_task
def quick_task(value):
    RUNS.append(value)


def test_the_periodic_job_stops_a_row_at_its_tasks_time_limit_and_goes_on(db):
    """Without a broker the run_cron loop runs rows one after another: one stuck row
    must not hold the others (notifications, mail fetch) back."""
    RUNS.clear()
    with celery_broker("memory://"):
        stuck = outbox.enqueue(stuck_task, "stuck")
        outbox.enqueue(quick_task, "quick")
        started = time.monotonic()
        assert outbox.outbox_drain() == 2
        took = time.monotonic() - started

    assert took < 1.5, f"the job took {took:.2f} s"
    assert RUNS == ["stuck", "quick"]
    row = OutboxTask.objects.get()
    assert (row.pk, row.state, row.attempts) == (stuck.pk, "pending", 1)
    assert row.last_error == "TimeLimitExceeded: ran longer than its time limit (0.3 s)"
    assert row.next_attempt_at > timezone.now()
