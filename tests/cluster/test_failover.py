"""Proof under failure (issue 18): two gunicorn instances behind a round-robin client,
two Celery workers and one beat on RabbitMQ, PostgreSQL (the test database), mail out
to a real SMTP peer and mail in through the MTA relay endpoint (POST
/api/tickets.email). While tickets are opened through the API and mail arrives, one web
instance is killed (-9, its whole process group) and restarted, one worker is killed in
the middle of sending (the SMTP peer holding its DATA command) and restarted, and the
broker is stopped and started. Then: every accepted request has exactly one ticket,
every mail marked sent reached the peer exactly once (counted by Message-ID), nothing
is left unsent, no job ran twice at once, and no request was answered with a 5xx."""

import collections
import itertools
import json
import os
import secrets
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create
from helpdesk.mail.models import InboundMessage, OutboundMessage
from helpdesk.ops.models import JobRun
from helpdesk.outbox.models import OutboxTask
from tickets.models import HelpdeskSettings, Ticket

from ..factories import AgentFactory, DepartmentFactory
from ..redis_process import free_port
from . import machinery as m

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.cluster]

# A dead runner's rows run again after this (OUTBOX_LEASE_SECONDS; 600 in production):
# short here so the test waits seconds, not minutes, for the killed worker's mail.
LEASE_SECONDS = 20


def _env(tmp_path, *, broker: str, redis: str, smtp_port: int, base_port: int) -> dict:
    db = connection.settings_dict
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE", "REDIS", "CELERY", "HELPDESK", "DEBUG", "SECRET"))
        and k not in ("ALLOWED_HOSTS", "PYTEST_XDIST_WORKER", "EMAIL_URL")
    }
    env.update(
        ENV_FILE=str(tmp_path / "absent.env"),  # never the developer's .env
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=redis,  # the cache: the cron jobs' locks are shared by every process
        CELERY_BROKER_URL=broker,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        HELPDESK_BASE_URL=f"http://127.0.0.1:{base_port}",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        MAIL_UNVERIFIED_POLICY="trust",
        API_THROTTLE_CALLER="1000000/min",
        CRON_OUTBOX_DRAIN_SECONDS="1",
        OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        OUTBOX_REOFFER_SECONDS="5",
        OUTBOX_BROKER_RETRY_SECONDS="1",
        LOG_LEVEL="INFO",
    )
    return env


def _raw_mail(n: int) -> bytes:
    return (
        f"From: Sender {n} <sender{n}@client.test>\r\n"
        f"To: support@helpdesk.test\r\n"
        f"Subject: mail {n}\r\n"
        f"Message-ID: <cluster-{n}@client.test>\r\n"
        f"Date: {timezone.now():%a, %d %b %Y %H:%M:%S +0000}\r\n"
        "\r\n"
        f"The printer on floor {n} is on fire.\r\n"
    ).encode()


class Load:
    """Clients opening tickets through POST /api/v1/tickets/ (Idempotency-Key) and an
    MTA relay posting mail to /api/tickets.email, until stopped."""

    def __init__(self, client: m.RoundRobin, key: str, department: int, api_clients: int):
        self.client, self.key, self.department = client, key, department
        self.api_clients = api_clients
        self.stop = threading.Event()
        self.accepted: dict[str, int] = {}  # idempotency key -> the answer's ticket id
        self.mail: list[int] = []  # numbers of the mails the relay delivered (201)
        self.refused: list[tuple[str, int, bytes]] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()

    def _api(self, client_no: int) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"c{client_no}-{n}"
            body = json.dumps(
                {
                    "subject": f"api {key}",
                    "body": "The printer is on fire.",
                    "requester_email": f"r-{key}@client.test",
                    "department": self.department,
                }
            ).encode()
            status, data = self.client.send(
                "POST",
                "/api/v1/tickets/",
                body,
                {"X-API-Key": self.key, "Idempotency-Key": key, "Content-Type": "application/json"},
            )
            with self._lock:
                if status == 201:
                    self.accepted[key] = json.loads(data)["id"]
                else:
                    self.refused.append((key, status, data[:300]))
            n += 1
            time.sleep(0.05)  # a steady stream, not a backlog the workers take minutes on

    def _relay(self) -> None:
        n = 0
        while not self.stop.is_set():
            status, data = self.client.send(
                "POST",
                "/api/tickets.email",
                _raw_mail(n),
                {"X-API-Key": self.key, "Content-Type": "message/rfc822"},
            )
            with self._lock:
                if status == 201:
                    self.mail.append(n)
                else:
                    self.refused.append((f"mail {n}", status, data[:300]))
            n += 1
            time.sleep(0.1)

    def _guard(self, target, *args) -> None:
        try:
            target(*args)
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)

    def __enter__(self) -> "Load":
        self.threads = [
            threading.Thread(target=self._guard, args=(self._api, i), daemon=True)
            for i in range(self.api_clients)
        ] + [threading.Thread(target=self._guard, args=(self._relay,), daemon=True)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(120)


@pytest.fixture
def peer():
    smtp = m.CountingSmtpPeer().start()
    yield smtp
    smtp.stop()


@pytest.fixture
def setup(transactional_db, django_db_serialized_rollback):
    department = DepartmentFactory(name="Support", email="support@helpdesk.test")
    AgentFactory(username="alex", department=department)  # hears of every new ticket
    config = HelpdeskSettings.load()
    config.default_department = department
    config.save()
    _, key = api_key_create(
        actor=SYSTEM,
        name="cluster",
        allowed_ips=["127.0.0.1"],
        can_create_tickets=True,
        all_departments=True,
    )
    return department, key


def test_nothing_is_lost_or_done_twice_when_machines_die(setup, peer, redis_process, tmp_path):
    department, key = setup
    logs = tmp_path
    ports = [free_port(), free_port()]
    with m.Vhost() as vhost:
        env = _env(
            tmp_path,
            broker=vhost.url,
            redis=redis_process.url(0),
            smtp_port=peer.port,
            base_port=ports[0],
        )
        webs = [m.gunicorn(f"web{i}", port, env, logs) for i, port in enumerate(ports)]
        workers = [m.celery_worker(f"worker{i}", env, logs) for i in range(2)]
        beat = m.celery_beat(env, logs)
        everything = [*webs, *workers, beat]
        try:
            for process in everything:
                process.start()
            for port in ports:
                m.wait_until(lambda port=port: m.answers(port), 60, f"gunicorn on {port}")
            _run(webs, workers, ports, key, department, peer)
        except BaseException:
            for process in everything:
                print(process.tail())
            raise
        finally:
            for process in everything:
                process.stop()


def _run(webs, workers, ports, key, department, peer):
    started = time.monotonic()

    def phase(what: str) -> None:  # shown with -s, and in the output of a failure
        print(f"cluster {time.monotonic() - started:6.1f} s: {what}", flush=True)

    client = m.RoundRobin(ports)
    with Load(client, key, department.pk, api_clients=2) as load:
        # mail goes out through beat, the broker and the workers
        m.wait_until(lambda: len(peer.accepted) >= 3, 60, "the first mail at the peer")

        phase("mail flowing")
        # 1. a web instance dies (-9, master and workers) and comes back
        webs[0].kill()
        time.sleep(1)
        webs[0].start()
        m.wait_until(lambda: m.answers(ports[0]), 60, "the restarted web instance")

        phase("web instance killed and back")
        # 2. a worker dies while the SMTP peer holds its DATA command, and comes back
        peer.hold_next()
        m.wait_until(peer.holding.is_set, 30, "a mail held at DATA")
        held_id, sender_port = peer.held
        [victim] = [w for w in workers if m.holds_port(w, sender_port)]
        victim.kill()
        m.wait_until(lambda: held_id in peer.cut, 10, "the held mail cut by the kill")
        victim.start()

        phase("worker killed mid-send and restarted")
        # 3. the broker stops and starts (the workers, beat and the web instances'
        # offers meet a closed port meanwhile)
        m.stop_broker()
        broker_stopped = timezone.now()
        time.sleep(3)
        m.start_broker()
        broker_back = timezone.now()
        phase("broker stopped and started")
        time.sleep(5)
    assert not load.errors, load.errors
    phase("load stopped")

    # everything settles: every row of the outbox run, every mail sent
    def settled():
        unsent = OutboundMessage.objects.exclude(status=OutboundMessage.Status.SENT)
        return not OutboxTask.objects.exists() and not unsent.exists()

    m.wait_until(settled, LEASE_SECONDS + 90, "the outbox empty and every mail sent", every=1)
    phase("settled")
    time.sleep(2)  # a late duplicate would arrive now

    # no request was answered with a server error; refusals are none either
    assert not [s for s in client.statuses if s >= 500], client.answers
    assert load.refused == [], load.refused[:5]
    assert client.cut > 0  # the killed instance was felt (and retried)

    # every accepted API request has exactly one ticket, the one its answer named
    assert len(load.accepted) > 20
    api_tickets = collections.Counter(
        Ticket.objects.filter(subject__startswith="api ").values_list("subject", flat=True)
    )
    assert api_tickets == collections.Counter(f"api {k}" for k in load.accepted)
    named = dict(Ticket.objects.filter(subject__startswith="api ").values_list("subject", "id"))
    assert {k: named[f"api {k}"] for k in load.accepted} == load.accepted

    # every delivered mail opened exactly one ticket (a retried post is a duplicate)
    assert len(load.mail) > 5
    mail_tickets = collections.Counter(
        Ticket.objects.filter(subject__startswith="mail ").values_list("subject", flat=True)
    )
    assert mail_tickets == collections.Counter(f"mail {n}" for n in load.mail)
    imported = InboundMessage.objects.exclude(ticket=None).values_list("message_id", flat=True)
    assert sorted(collections.Counter(imported).values()) == [1] * len(load.mail)
    assert Ticket.objects.count() == len(load.accepted) + len(load.mail)

    # every notification was sent exactly once: the peer accepted each Message-ID of
    # the mail marked sent once, and nothing else; the held one once, after the kill
    sent = OutboundMessage.objects.filter(status=OutboundMessage.Status.SENT)
    ids = [row.headers["Message-ID"] for row in sent]
    assert len(ids) > len(load.accepted)  # autoresponses and alerts of every ticket
    assert dict(peer.accepted) == dict.fromkeys(ids, 1)
    assert peer.cut == [held_id] and peer.accepted[held_id] == 1
    assert set(sent.values_list("attempts", flat=True)) == {1}  # no send failed

    # no task ran twice: the outbox has no row left (each ran once, then was deleted;
    # none given up), and no job ran beside itself
    assert not OutboxTask.objects.filter(state=OutboxTask.State.DEAD).exists()
    runs = collections.defaultdict(list)
    for run in JobRun.objects.exclude(finished_at=None).order_by("started_at"):
        runs[run.job].append(run)
    for job, done in runs.items():
        for before, after in itertools.pairwise(done):
            assert after.started_at >= before.finished_at, (job, before.pk, after.pk)
    # beat and the workers carried on after the broker came back
    assert JobRun.objects.filter(
        job="outbox_drain", via="celery", result="ok", started_at__gt=broker_back
    ).exists()
    assert broker_stopped < broker_back
    print(
        f"cluster: {len(load.accepted)} API tickets, {len(load.mail)} mails in, "
        f"{len(ids)} mails out, {client.cut} attempts cut and retried, "
        f"statuses {dict(client.statuses)}"
    )
