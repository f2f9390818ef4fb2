"""Set-based loading of many tickets into PostgreSQL, for the benchmarks.

    from bench.bulk import setup_django, load_tickets
    setup_django()                       # DATABASE_URL defaults to helpdesk_bench
    load_tickets(1_000_000, open_fraction=0.1, overdue_fraction=0.01)

Rows are inserted with INSERT ... SELECT over generate_series, 100,000 per statement:
a thread, a ticket and its first message each. Nothing goes through the services (a
benchmark fixture, not a way to open tickets). The database is a dedicated one
(`helpdesk_bench` by default) so a developer's data is never touched.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/helpdesk_bench"
CHUNK = 100_000


def setup_django(database_url: str | None = None) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    _create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def baseline():
    """The department, agents, clients, SLA, statuses the bulk rows point at (idempotent)."""
    from accounts.models import Role, User
    from routing.models import SLA, Department
    from tickets.models import Priority, TicketStatus

    dept, _ = Department.objects.get_or_create(name="Bench")
    sla, _ = SLA.objects.get_or_create(name="Bench SLA", defaults={"grace_hours": 24})
    role = Role.objects.get(name="All Access")
    agent = User.objects.filter(username="bench").first()
    if agent is None:
        agent = User(
            username="bench",
            email="bench@helpdesk.test",
            name="Bench Agent",
            is_agent=True,
            department=dept,
            role=role,
        )
        agent.set_password("bench")
        agent.save()
    if not User.objects.filter(email__startswith="client", email__endswith="@bench.test").exists():
        User.objects.bulk_create(
            User(email=f"client{i}@bench.test", name=f"Client {i}", password="!")
            for i in range(1000)
        )
    clients = list(User.objects.filter(email__endswith="@bench.test").values_list("pk", flat=True))
    return {
        "department": dept,
        "sla": sla,
        "agent": agent,
        "clients": clients,
        "open": TicketStatus.objects.get(name="Open"),
        "closed": TicketStatus.objects.get(name="Closed"),
        "priority": Priority.objects.get(name="Normal"),
    }


SQL = """
WITH th AS (
    INSERT INTO threads_thread (id)
    SELECT nextval(pg_get_serial_sequence('threads_thread', 'id')) FROM generate_series(1, %(n)s)
    RETURNING id
), numbered AS (
    SELECT id AS thread_id, %(offset)s + row_number() OVER (ORDER BY id) AS rn FROM th
), t AS (
    INSERT INTO tickets_ticket (
        number, subject, requester_id, department_id, sla_id, priority_id, status_id, state,
        assignee_id, source, thread_id, sla_due_at, is_overdue, is_answered, reopen_count,
        closed_at, last_message_at, created_at, updated_at, version, merge_mode, language
    )
    SELECT
        'B' || lpad(rn::text, 9, '0'),
        'Bulk ticket ' || rn || ' about ' || (ARRAY['printer', 'vpn', 'invoice', 'login', 'email'])[1 + rn %% 5],
        (%(clients)s::bigint[])[1 + rn %% %(nclients)s],
        %(department)s, %(sla)s, %(priority)s,
        CASE WHEN rn %% 1000 < %(open_per_mille)s THEN %(open)s ELSE %(closed)s END,
        CASE WHEN rn %% 1000 < %(open_per_mille)s THEN 'open' ELSE 'closed' END,
        CASE WHEN rn %% 3 = 0 THEN %(agent)s ELSE NULL END,
        'web', thread_id,
        CASE WHEN rn %% 1000 < %(overdue_per_mille)s THEN now() - interval '1 hour'
             ELSE now() + interval '30 days' END,
        false, rn %% 2 = 0, 0,
        CASE WHEN rn %% 1000 < %(open_per_mille)s THEN NULL ELSE now() - interval '1 day' END,
        now() - (rn %% 100000) * interval '1 minute',
        now() - (rn %% 100000) * interval '1 minute',
        now() - (rn %% 100000) * interval '1 minute',
        1, '', ''
    FROM numbered
    RETURNING id, thread_id, requester_id, subject
)
INSERT INTO threads_threadentry (
    thread_id, kind, poster_id, poster_name, title, format, body, source,
    is_system, recipients, message_id, email_headers, created_at
)
SELECT thread_id, 'message', requester_id, '', '', 'text',
       {body}, 'web', false, '{{}}', '', '', now()
FROM t
"""

# Words for generated bodies: a hash of (entry, position) picks each word, so bodies
# differ from row to row and compress about as well as prose does (not as well as one
# sentence repeated would).
WORDS = [
    "the",
    "printer",
    "vpn",
    "invoice",
    "login",
    "email",
    "stopped",
    "working",
    "this",
    "morning",
    "after",
    "update",
    "again",
    "please",
    "help",
    "we",
    "cannot",
    "print",
    "send",
    "open",
    "connect",
    "since",
    "yesterday",
    "office",
    "laptop",
    "screen",
    "error",
    "message",
    "says",
    "access",
    "denied",
    "password",
    "reset",
    "account",
    "locked",
    "server",
    "slow",
    "network",
    "drive",
    "shared",
    "folder",
    "missing",
    "file",
    "attached",
    "report",
    "monthly",
    "customer",
    "order",
    "payment",
    "refund",
    "delivery",
    "late",
    "urgent",
    "thanks",
    "regards",
    "team",
    "manager",
]


def body_sql(body_bytes: int | None) -> str:
    """The SQL expression (over `t`) of the first message's plain text: one sentence,
    or `body_bytes` bytes of generated words."""
    if not body_bytes:
        return "(subject || ': it stopped working this morning.')"
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    count = body_bytes // 5 + 10
    return (
        f"left(subject || ': ' || (SELECT string_agg(({words})[1 + abs(hashint8(t.id * 1000 + g)) "
        f"%% {len(WORDS)}], ' ') FROM generate_series(1, {count}) g), {int(body_bytes)})"
    )


def load_tickets(
    n: int,
    *,
    open_fraction: float = 0.1,
    overdue_fraction: float = 0.0,
    body_bytes: int | None = None,
    verbose=True,
) -> int:
    """Top the bench database up to `n` tickets; returns how many were added.

    Within the new rows, a per-mille pattern decides which are open and which of the
    open ones are past their SLA due date (overdue_fraction is of all tickets). With
    `body_bytes`, each first message is that many bytes of plain text (words; ASCII)
    instead of one sentence.
    """
    from django.db import connection, transaction

    from tickets.models import Ticket

    sql = SQL.format(body=body_sql(body_bytes))
    base = baseline()
    have = Ticket.objects.count()
    started = time.monotonic()
    added = 0
    while have + added < n:
        chunk = min(CHUNK, n - have - added)
        params = {
            "n": chunk,
            "offset": have + added,
            "clients": base["clients"],
            "nclients": len(base["clients"]),
            "department": base["department"].pk,
            "sla": base["sla"].pk,
            "priority": base["priority"].pk,
            "open": base["open"].pk,
            "closed": base["closed"].pk,
            "agent": base["agent"].pk,
            "open_per_mille": round(open_fraction * 1000),
            "overdue_per_mille": round(overdue_fraction * 1000),
        }
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)
        added += chunk
        if verbose:
            print(
                f"  loaded {have + added:,} tickets ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    if added:
        with connection.cursor() as cur:
            cur.execute(
                "ANALYZE tickets_ticket; ANALYZE threads_threadentry; ANALYZE threads_thread;"
            )
    return added


TASK_SQL = """
WITH th AS (
    INSERT INTO threads_thread (id)
    SELECT nextval(pg_get_serial_sequence('threads_thread', 'id')) FROM generate_series(1, %(n)s)
    RETURNING id
), numbered AS (
    SELECT id AS thread_id, %(offset)s + row_number() OVER (ORDER BY id) AS rn FROM th
), k AS (
    INSERT INTO tickets_task (
        number, title, ticket_id, department_id, assignee_id, team_id, state, thread_id,
        due_at, is_overdue, created_by_id, created_at, updated_at, closed_at, version
    )
    SELECT
        rn::text,
        'Bench task ' || rn || ': ' || (ARRAY['order the part', 'call back', 'ask legal', 'check logs'])[1 + rn %% 4],
        CASE WHEN rn %% 5 = 0 THEN NULL ELSE (
            SELECT id FROM tickets_ticket
            WHERE id >= %(first_ticket)s + (rn * 7) %% %(tickets)s ORDER BY id LIMIT 1
        ) END,
        %(department)s,
        CASE WHEN rn %% 3 = 0 THEN %(agent)s ELSE NULL END,
        NULL,
        CASE WHEN rn %% 1000 < %(open_per_mille)s THEN 'open' ELSE 'closed' END,
        thread_id,
        now() + (rn %% 240 - 24) * interval '1 hour',
        false,
        %(agent)s,
        now() - (rn %% 100000) * interval '1 minute',
        now() - (rn %% 100000) * interval '1 minute',
        CASE WHEN rn %% 1000 < %(open_per_mille)s THEN NULL ELSE now() END,
        1
    FROM numbered
    RETURNING thread_id, title
)
INSERT INTO threads_threadentry (
    thread_id, kind, poster_id, poster_name, title, format, body, source,
    is_system, recipients, message_id, email_headers, created_at
)
SELECT thread_id, 'note', %(agent)s, 'Bench Agent', title, 'text',
       title || ': details inside.', 'web',
       false, '{}', '', '', now()
FROM k
"""


def load_tasks(n: int, *, open_fraction: float = 0.5, verbose=True) -> int:
    """Top the bench database up to `n` tasks (after the tickets); returns how many were
    added. Four in five belong to a ticket, a third are the bench agent's, each has its
    description as its first entry; the task sequence is moved past them."""
    from django.db import connection, transaction

    from tickets.models import Task, Ticket, TicketSequence

    base = baseline()
    have, tickets = Task.objects.count(), Ticket.objects.count()
    first_ticket = Ticket.objects.order_by("pk").values_list("pk", flat=True).first() or 0
    started = time.monotonic()
    added = 0
    while have + added < n:
        chunk = min(CHUNK, n - have - added)
        params = {
            "n": chunk,
            "offset": have + added,
            "tickets": max(tickets, 1),
            "first_ticket": first_ticket,
            "department": base["department"].pk,
            "agent": base["agent"].pk,
            "open_per_mille": round(open_fraction * 1000),
        }
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(TASK_SQL, params)
        added += chunk
        if verbose:
            print(
                f"  loaded {have + added:,} tasks ({time.monotonic() - started:.0f} s)", flush=True
            )
    if added:
        TicketSequence.objects.update_or_create(pk=2, defaults={"next_value": have + added + 1})
        with connection.cursor() as cur:
            cur.execute("ANALYZE tickets_task;")
    return added
