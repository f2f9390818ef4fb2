"""The read replica (config/dbrouter.py): with a "replica" alias that is a second
connection to the test database (what Django's TEST MIRROR makes of it), each test
asserts which alias every query used. Read-only pages read from the replica; other
pages, transactions, row locks and every write use the primary; a caller who wrote
reads from the primary for REPLICA_STICKY_SECONDS."""

import copy
import datetime as dt

import pytest
import time_machine
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config import dbrouter
from config.dbrouter import REPLICA, ReplicaMiddleware, ReplicaRouter, replica_reads
from tickets.models import Ticket

from .factories import open_ticket
from .redis_process import free_port


@pytest.fixture
def replica(transactional_db, django_db_serialized_rollback):
    """DATABASES["replica"], a mirror of the test database, for this test."""
    default = connections[DEFAULT_DB_ALIAS].settings_dict
    connections.settings[REPLICA] = {
        **copy.deepcopy(default),
        "TEST": {**default["TEST"], "MIRROR": DEFAULT_DB_ALIAS},
    }
    connections[REPLICA].creation.set_as_test_mirror(default)
    # opened here: the test case's guard refuses to open a connection to an alias it
    # was not told about when it began (the alias is added after the database fixture)
    connections[REPLICA].connect()
    yield connections[REPLICA]
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


class Queries:
    """The SQL each alias ran inside the block."""

    def __init__(self):
        self.on = {
            alias: CaptureQueriesContext(connections[alias]) for alias in ("default", REPLICA)
        }

    def __enter__(self):
        for capture in self.on.values():
            capture.__enter__()
        return self

    def __exit__(self, *exc):
        for capture in self.on.values():
            capture.__exit__(*exc)

    def sql(self, alias: str) -> list[str]:
        return [q["sql"] for q in self.on[alias].captured_queries]

    def touching(self, alias: str, table: str) -> list[str]:
        return [q for q in self.sql(alias) if f'"{table}"' in q]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_queue_page_reads_its_tickets_from_the_replica(replica, cast):
    open_ticket(cast.alice, department=cast.dept_a, subject="On the replica")
    agent = signed_in(cast.agent_a)

    with Queries() as q:
        response = agent.get("/scp/")

    assert response.status_code == 200 and b"On the replica" in response.content
    assert q.touching(REPLICA, "tickets_ticket")
    assert q.touching("default", "tickets_ticket") == []
    assert q.touching(REPLICA, "django_session") == []  # sessions: the primary only
    assert dbrouter.COOKIE not in response.cookies  # a read: nobody made sticky


def test_the_api_ticket_list_reads_from_the_replica(replica, cast):
    open_ticket(cast.alice, department=cast.dept_a)
    from .api.conftest import Api

    with Queries() as q:
        response = Api(cast).agent(cast.agent_a).get("/api/v1/tickets/")

    assert response.status_code == 200 and len(response.json()["results"]) == 1
    assert q.touching(REPLICA, "tickets_ticket")
    assert q.touching("default", "tickets_ticket") == []
    assert q.touching(REPLICA, "accounts_agenttoken") == []  # credentials: the primary
    assert q.touching("default", "accounts_agenttoken")
    assert dbrouter.COOKIE not in response.cookies  # its "last used" stamp is upkeep


def test_pages_not_listed_read_from_the_primary(replica, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    agent = signed_in(cast.agent_a)

    with Queries() as q:
        response = agent.get(f"/scp/tickets/{ticket.number}/")

    assert response.status_code == 200
    assert q.sql(REPLICA) == []
    assert q.touching("default", "tickets_ticket")


def test_after_a_write_the_writer_reads_from_the_primary_for_the_sticky_seconds(
    replica, cast, settings
):
    settings.REPLICA_STICKY_SECONDS = 10
    open_ticket(cast.alice, department=cast.dept_a)
    writer, other = signed_in(cast.agent_a), signed_in(cast.agent_b)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        wrote = writer.post("/scp/alerts/read-all/")
        assert wrote.status_code == 302
        assert wrote.cookies[dbrouter.COOKIE]["max-age"] == 10
        with Queries() as q:
            assert writer.get("/scp/").status_code == 200
        assert q.sql(REPLICA) == []  # read-your-writes
        with Queries() as q:
            assert other.get("/scp/").status_code == 200
        assert q.touching(REPLICA, "tickets_ticket")  # the others are not held back

    with time_machine.travel(start + dt.timedelta(seconds=11), tick=False):
        with Queries() as q:
            assert writer.get("/scp/").status_code == 200
        assert q.touching(REPLICA, "tickets_ticket")  # the stamp has expired


def test_a_refused_write_does_not_make_the_caller_sticky(replica, cast):
    agent = signed_in(cast.agent_a)

    refused = agent.post("/scp/tickets/NOPE-0/note/", {"body": "x"})

    assert refused.status_code >= 400
    assert dbrouter.COOKIE not in refused.cookies


def test_a_safe_request_that_wrote_makes_the_caller_sticky(replica, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    def view(request):
        Ticket.objects.filter(pk=ticket.pk).update(subject="Touched")
        return HttpResponse("ok")

    response = ReplicaMiddleware(view)(RequestFactory().get("/"))

    assert dbrouter.COOKIE in response.cookies


def test_a_forged_or_foreign_stamp_is_ignored(replica, cast):
    open_ticket(cast.alice, department=cast.dept_a)
    agent = signed_in(cast.agent_a)
    agent.cookies[dbrouter.COOKIE] = "1:forged:signature"

    with Queries() as q:
        assert agent.get("/scp/").status_code == 200

    assert q.touching(REPLICA, "tickets_ticket")


def test_writes_never_go_to_the_replica(replica, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    with replica_reads(), Queries() as q:
        row = Ticket.objects.get(pk=ticket.pk)
        assert row._state.db == REPLICA
        row.subject = "Saved on the primary"
        row.save(update_fields=["subject"])
        Ticket.objects.filter(pk=ticket.pk).update(subject="Updated on the primary")
        again = Ticket.objects.get(pk=ticket.pk)  # after a write: the primary

    writes = ("INSERT", "UPDATE", "DELETE")
    assert [s for s in q.sql(REPLICA) if s.lstrip().upper().startswith(writes)] == []
    assert len([s for s in q.sql("default") if s.lstrip().upper().startswith("UPDATE")]) == 2
    assert again._state.db == DEFAULT_DB_ALIAS and again.subject == "Updated on the primary"


def test_transactions_and_row_locks_read_from_the_primary(replica, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    with replica_reads():
        with Queries() as outside:
            Ticket.objects.filter(pk=ticket.pk).exists()
        with Queries() as inside, transaction.atomic():
            Ticket.objects.filter(pk=ticket.pk).exists()
            list(Ticket.objects.select_for_update().filter(pk=ticket.pk))

    assert len(outside.touching(REPLICA, "tickets_ticket")) == 1
    assert inside.touching(REPLICA, "tickets_ticket") == []
    assert len(inside.touching("default", "tickets_ticket")) == 2


def test_without_a_replica_the_router_leaves_every_choice_to_django(db):
    router = ReplicaRouter()

    with replica_reads():
        assert router.db_for_read(Ticket) is None
        assert router.db_for_write(Ticket) is None
    response = ReplicaMiddleware(lambda request: HttpResponse("ok"))(RequestFactory().post("/"))
    assert dbrouter.COOKIE not in response.cookies


def test_the_replica_is_never_migrated():
    assert ReplicaRouter().allow_migrate(REPLICA, "tickets") is False
    assert ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "tickets") is None


def test_database_replica_url_adds_a_replica_the_test_runner_mirrors():
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, django; from django.conf import settings; "
        "r = settings.DATABASES['replica']; "
        "print(json.dumps([r['ENGINE'], r['HOST'], r['NAME'], r['TEST'], "
        "settings.DATABASE_ROUTERS, settings.REPLICA_STICKY_SECONDS]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://helpdesk@primary.internal:5432/helpdesk",
        "DATABASE_REPLICA_URL": "postgres://helpdesk@replica.internal:5432/helpdesk",
        "REPLICA_STICKY_SECONDS": "30",
    }
    out = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout

    engine, host, name, test, routers, sticky = json.loads(out)
    assert (engine, host, name) == ("config.postgresql", "replica.internal", "helpdesk")
    assert test == {"MIRROR": "default"}
    assert routers == ["tickets.config.FrozenRowRouter", "config.dbrouter.ReplicaRouter"]
    assert sticky == 30


def test_an_unreachable_replica_leaves_the_pages_on_the_primary(replica, cast, caplog, tmp_path):
    open_ticket(cast.alice, department=cast.dept_a, subject="Still here")
    agent = signed_in(cast.agent_a)
    replica.connection.close()  # (Django keeps an in-memory database's open)
    replica.connection = None
    if replica.vendor == "postgresql":  # a port nobody listens on
        replica.settings_dict["HOST"], replica.settings_dict["PORT"] = "127.0.0.1", free_port()
    else:  # a file SQLite cannot open
        replica.settings_dict["NAME"] = str(tmp_path / "no" / "such" / "folder" / "db.sqlite3")

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary:
        response = agent.get("/scp/")

    assert response.status_code == 200 and b"Still here" in response.content
    assert any('"tickets_ticket"' in q["sql"] for q in primary.captured_queries)
    assert replica.connection is None
    assert "read replica unreachable" in caplog.text
    assert dbrouter._down_until > 0


@pytest.fixture(autouse=True)
def _replica_was_never_down(monkeypatch):
    monkeypatch.setattr(dbrouter, "_down_until", 0.0)
