"""Redis outages: pages, sign-ins, the portal and the API keep answering (the cache
serves from process memory, sessions are in the database), the work of every change
waits in the outbox, and once Redis and a worker are back each notification is sent
exactly once. A private redis-server is started, killed with SIGKILL and restarted."""

import datetime as dt
import logging
import re
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from config.cache import RedisCache
from helpdesk.cron import run_job
from helpdesk.mail.models import OutboundMessage
from helpdesk.outbox.models import OutboxTask
from helpdesk.outbox.services import offer, outbox_drain
from tickets.models import HelpdeskSettings, Ticket

from ..api.conftest import Api
from ..mail.servers import SmtpSink
from ..redis_process import celery_broker, free_port, pointed_at

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _backend(url: str, retry_seconds: float = 0.2) -> RedisCache:
    return RedisCache(
        url,
        {
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "retry_seconds": retry_seconds,
            }
        },
    )


def test_the_cache_serves_from_memory_while_redis_is_down_then_from_redis_again(
    redis_process, caplog
):
    backend = _backend(redis_process.url(2))
    backend.set("before", "in redis", 60)
    redis_process.kill()

    with caplog.at_level(logging.WARNING, logger="config.cache"):
        started = time.monotonic()
        for n in range(200):  # a dead Redis costs nothing per call, not a timeout
            assert backend.get("before") is None
            backend.set(f"k{n}", n, 60)
        took = time.monotonic() - started
        assert backend.get("k7") == 7
        assert backend.add("lock", 1, 60) is True and backend.add("lock", 1, 60) is False
        assert backend.incr("lock") == 2
        assert backend.get_many(["k1", "k2", "nope"]) == {"k1": 1, "k2": 2}
        backend.delete("k1")
        assert backend.get("k1") is None
    assert took < 2.0
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1  # one warning for the outage, not one per call

    redis_process.start()  # an empty Redis on the same port (nothing was saved)
    time.sleep(0.3)  # the retry interval of this backend
    with caplog.at_level(logging.WARNING, logger="config.cache"):
        backend.set("after", "in redis", 60)
    assert backend.get("after") == "in redis"
    assert backend.get("k7") is None  # the memory of the outage is not served any more
    assert _backend(redis_process.url(2)).get("after") == "in redis"
    assert any("answers again" in r.getMessage() for r in caplog.records)


@pytest.fixture
def dead_redis(settings):
    """Cache and broker pointed at a port where nothing listens."""
    url = f"redis://127.0.0.1:{free_port()}"
    settings.CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": f"{url}/1"}}
    settings.CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 0.5, "retry_seconds": 60}
    with celery_broker(f"{url}/0"):
        yield url


def _panel_sign_in(client, login="alex", password="secret"):  # noqa: S107
    return client.post("/scp/login/", {"login": login, "password": password})


def test_with_redis_down_every_surface_answers_and_throttles_still_count(cast, dead_redis):
    HelpdeskSettings.objects.filter(pk=1).update(default_department=cast.dept_a)
    agent = Client()
    assert _panel_sign_in(agent).status_code == 302
    assert agent.get("/scp/").status_code == 200
    portal = Client()
    signed = portal.post("/login/", {"username": "alice@acme.test", "password": "secret"})
    assert (signed.status_code, signed["Location"]) == (302, "/tickets/")
    assert portal.get("/tickets/").status_code == 200
    assert Client().get("/").status_code == 200
    api = Api(cast).agent(cast.agent_a)
    assert api.get("/api/v1/tickets/").status_code == 200

    # login limits count in process memory while Redis is away: still refused
    for _ in range(5):
        assert _panel_sign_in(Client(), password="wrong").status_code == 200
    refused = _panel_sign_in(Client())  # even with the right password
    assert refused.status_code == 429
    assert not refused.wsgi_request.user.is_authenticated
    # the cron lock too: the outbox job runs
    assert run_job("outbox_drain") == 0


def _wait_until_empty(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not OutboxTask.objects.exists():
                return
        except OperationalError:  # SQLite: the worker's thread holds the write lock
            pass
        time.sleep(0.1)
    pytest.fail(f"outbox not drained: {list(OutboxTask.objects.values('task', 'state'))}")


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()


def _changes_during_the_outage(cast) -> list[int]:
    """Through the panel, the portal and the API, as people would: all answer."""
    portal = Client()
    signed = portal.post("/login/", {"username": "alice@acme.test", "password": "secret"})
    assert signed.status_code == 302
    token = TOKEN.search(portal.get("/open/").content.decode()).group(1)
    opened = portal.post("/open/", {"form_token": token, "subject": "VPN", "message": "Down."})
    assert opened.status_code == 302, opened.content.decode()[:2000]
    by_portal = Ticket.objects.get(subject="VPN")

    agent = Client()
    assert _panel_sign_in(agent).status_code == 302
    replied = agent.post(
        f"/scp/tickets/{by_portal.number}/reply/",
        {"body": "Looking.", "version": by_portal.version},
    )
    assert replied.status_code == 302

    created = (
        Api(cast)
        .agent(cast.agent_a)
        .post(
            "/api/v1/tickets/",
            {"subject": "Phone", "body": "Called.", "requester": cast.bob.pk},
            format="json",
        )
    )
    assert created.status_code == 201, created.content
    return [by_portal.pk, created.json()["id"]]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_after_an_outage_every_notification_is_sent_exactly_once(
    cast, redis_process, settings, smtp
):
    settings.HELPDESK_OUTBOX = {**settings.HELPDESK_OUTBOX, "BROKER_RETRY_SECONDS": 0.2}
    HelpdeskSettings.objects.filter(pk=1).update(default_department=cast.dept_a)
    with pointed_at(redis_process, settings) as app:
        # Redis is up but no worker runs: this change's work is handed to the broker...
        before = (
            Api(cast)
            .agent(cast.agent_a)
            .post(
                "/api/v1/tickets/",
                {"subject": "Before", "body": "Just before.", "requester": cast.alice.pk},
                format="json",
            )
        )
        assert before.status_code == 201
        [handed] = OutboxTask.objects.all()
        assert handed.offered_at is not None

        redis_process.kill()  # ...and lost with it: Redis dies, no cache, no broker

        _changes_during_the_outage(cast)

        waiting = OutboxTask.objects.exclude(pk=handed.pk)
        assert waiting.count() >= 3  # the notifications of the three changes, at least
        assert set(waiting.values_list("state", "offered_at")) == {("pending", None)}
        assert smtp.messages == [] and not OutboundMessage.objects.exists()

        redis_process.start()  # back, empty, on the same port
        time.sleep(0.3)  # past the retry interval of the cache and the outbox
        # The periodic job hands the refused rows to the broker at once; the row the
        # dead Redis lost waits REOFFER_SECONDS, then goes again with every row still
        # pending (a minute later no worker ran yet: those are now in the queue twice).
        assert run_job("outbox_drain") == waiting.count()
        later = timezone.now() + dt.timedelta(seconds=61)
        assert outbox_drain(now=later) == waiting.count() + 1
        for pk in OutboxTask.objects.values_list("pk", flat=True):
            assert offer(pk)  # offered twice: the second run must find nothing to do
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            _wait_until_empty()

    rows = list(OutboundMessage.objects.order_by("id"))
    assert rows and {r.status for r in rows} == {"sent"}
    received = sorted(str(m["message"]["Message-ID"]) for m in smtp.messages)
    assert received == sorted(r.message_id for r in rows)  # each mail once, none twice
    sent = {(r.template, r.recipient) for r in rows}
    assert {
        ("ticket.notice", "alice@acme.test"),  # the ticket opened before the outage
        ("ticket.autoresp", "alice@acme.test"),
        ("ticket.reply", "alice@acme.test"),
        ("ticket.notice", "bob@globex.test"),
    } <= sent
    assert ("ticket.alert", cast.agent_a.email) in sent


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_broker_at_all_the_periodic_job_sends_what_the_request_left(cast, settings, smtp):
    """`make run` without Redis: the request only writes the outbox; the outbox job,
    not the request, sends the mail."""
    HelpdeskSettings.objects.filter(pk=1).update(default_department=cast.dept_a)
    with celery_broker("memory://"):
        created = (
            Api(cast)
            .agent(cast.agent_a)
            .post(
                "/api/v1/tickets/",
                {"subject": "Phone", "body": "Called.", "requester": cast.bob.pk},
                format="json",
            )
        )
        assert created.status_code == 201
        assert smtp.messages == [] and OutboxTask.objects.count() == 1

        while run_job("outbox_drain"):  # notify, then the mail it queued
            pass

    assert sorted(m["to"][0] for m in smtp.messages) == [
        "bob@globex.test",  # the notice of a ticket an agent opened for him
        "manager@helpdesk.test",  # the new-ticket alerts
        "root@helpdesk.test",
    ]
    assert not OutboxTask.objects.exists()
