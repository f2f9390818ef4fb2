"""Time the staff panel at scale, as a signed-in agent.

    .venv/bin/python bench/panel.py [--tickets 1000000] [--open-fraction 0.1] [--runs 30]

Loads the tickets once (set-based, bench/bulk.py: a tenth of them open, a third of
them assigned to the bench agent) into its own PostgreSQL database,
`helpdesk_bench_panel` (PANEL_BENCH_DATABASE_URL to change it; not the SLA bench's,
whose tickets are all open), gives one open ticket a 200-entry thread (messages,
responses, notes with events), then requests through Django's test client, signed
in as the bench agent (All Access in the tickets' department):

- the Open queue, first page;
- a deep page of it (the keyset cursor of the 50,000th open ticket);
- the ticket view of the 200-entry thread;
- a keyword search matching a fifth of all tickets, and one matching a few;
- the task queue (open, and the agent's own) over `--tasks` tasks (default 200,000,
  half open, four in five of a ticket; bench/bulk.load_tasks). Budget (issue 13): p50
  under 100 ms.

Prints the median and the 95th percentile of the server time of each page (rendering
included, network excluded), the median CPU time of this process per page (Django's
work, the database's excluded: steadier than wall-clock time on a shared machine), its
mean time in the cyclic garbage collector (tuned as in a gunicorn worker,
helpdesk.ops.gc), its mean time in Django's SQL compiler for SELECT statements ("sql
ms": building their text from querysets, subqueries included, in five more requests;
the session's UPDATE and other writes are not counted), its SQL statement count, the
Python function calls per request (cProfile over five more requests: the figure a noisy
machine does not move, to compare trees), and its budget (issue 19: p50 under 50 ms for the queue, the deep page and
search, under 80 ms for the ticket view; the task queues, issue 13: 100 ms), with the
load average (/proc/loadavg) before and after. The timings are taken as a server runs
(the frame's counts read apart on PostgreSQL: helpdesk.apart, HELPDESK_READS_APART);
the statements, calls and compile time with every read in the request, so that a read
apart is counted too.
"""

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import load_tickets, setup_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/helpdesk_bench_panel"
THREAD_LENGTH = 200
PROFILED = 5  # requests per page under cProfile, after the timed ones


def long_thread(agent):
    """One open ticket with THREAD_LENGTH entries (and an event per entry), made once."""
    from django.db import transaction

    from threads.models import ThreadEntry, ThreadEvent
    from tickets.models import Ticket

    ticket = Ticket.objects.filter(state="open", subject__contains="printer").order_by("pk").first()
    have = ThreadEntry.objects.filter(thread_id=ticket.thread_id).count()
    kinds = ["message", "response", "note"]
    with transaction.atomic():
        ThreadEntry.objects.bulk_create(
            ThreadEntry(
                thread_id=ticket.thread_id,
                kind=kinds[i % 3],
                poster=agent if i % 3 else ticket.requester,
                poster_name=agent.display_name if i % 3 else "Client",
                body_html=f"<p>Entry {i}: the printer still jams on page {i}.</p>",
                body_text=f"Entry {i}: the printer still jams on page {i}.",
            )
            for i in range(have, THREAD_LENGTH)
        )
        if have < THREAD_LENGTH:
            ThreadEvent.objects.bulk_create(
                ThreadEvent(thread_id=ticket.thread_id, kind=kinds[i % 3], actor=agent, data={})
                for i in range(have, THREAD_LENGTH)
            )
    return ticket


def deep_cursor(agent, position: int) -> str:
    from helpdesk.panel import keyset
    from helpdesk.panel.queues import SORTS
    from tickets.selectors import tickets_visible_to

    row = (
        tickets_visible_to(user=agent)
        .filter(state="open")
        .order_by("-updated_at", "-pk")[position : position + 1]
        .get()
    )
    return keyset.encode("-updated", row, SORTS["updated"].field, False)


def measure(client, url: str, runs: int) -> dict:
    from django.db import connection
    from django.test import override_settings

    # The statements, calls and compile time are counted with every read in the request
    # (the frame's counts not read apart: helpdesk.apart), so that they are all counted,
    # whatever thread reads them; the timings are taken as a server runs.
    inline = override_settings(HELPDESK_READS_APART=False)

    # secure: the settings redirect plain HTTP to HTTPS when DEBUG is off, as in production
    for _ in range(3):  # warm caches and the session
        assert client.get(url, secure=True).status_code == 200, url
    statements = []
    with (
        inline,
        connection.execute_wrapper(lambda ex, sql, *a: statements.append(sql) or ex(sql, *a)),
    ):
        client.get(url, secure=True)
    timings, cpu = [], []
    collecting = [0.0, 0.0]  # started, total: the cyclic collector's time (helpdesk.ops.gc)

    def collector(phase, info):
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            collecting[1] += time.perf_counter() - collecting[0]

    gc.callbacks.append(collector)
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, secure=True)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)  # this process: Django's
        assert response.status_code == 200, (url, response.status_code)
    gc.callbacks.remove(collector)
    profile = cProfile.Profile()  # Python calls: the figure no shared machine moves
    with inline:
        profile.enable()
        for _ in range(PROFILED):
            client.get(url, secure=True)
        profile.disable()
    calls = pstats.Stats(profile).total_calls / PROFILED  # type: ignore[attr-defined]
    with inline, compiling() as spent:
        for _ in range(PROFILED):
            client.get(url, secure=True)
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))],
        "cpu": statistics.median(cpu),
        "gc": collecting[1] * 1000 / runs,
        "queries": len(statements),
        "calls": calls,
        "compile": spent[0] * 1000 / PROFILED,
    }


@contextmanager
def compiling():
    """[seconds] spent in Django's SELECT compiler (top-level `SQLCompiler.as_sql`
    calls, the subqueries they compile included; the insert, update and delete
    compilers are not patched) while the block runs: building the SQL text and its
    parameters from querysets, apart from running it."""
    from django.db.models.sql.compiler import SQLCompiler

    spent = [0.0]
    depth = [0]
    original = SQLCompiler.as_sql

    def as_sql(self, *args, **kwargs):
        if depth[0]:
            return original(self, *args, **kwargs)
        depth[0] += 1
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            depth[0] -= 1
            spent[0] += time.perf_counter() - started

    SQLCompiler.as_sql = as_sql  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        SQLCompiler.as_sql = original  # type: ignore[method-assign]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--open-fraction", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tasks", type=int, default=200_000)
    args = parser.parse_args()
    # persistent connections, as a production deployment sets (CONN_MAX_AGE)
    os.environ.setdefault("CONN_MAX_AGE", "60")
    setup_django(os.environ.get("PANEL_BENCH_DATABASE_URL", DEFAULT_DB))

    from django.db import connection
    from django.test import Client

    from tickets.models import Ticket

    # Not setup_test_environment(): its instrumented template rendering (copies of every
    # context for the test client) would double the time measured.
    print(f"loading up to {args.tickets:,} tickets ({args.open_fraction:.0%} open)...")
    added = load_tickets(args.tickets, open_fraction=args.open_fraction)
    from bench.bulk import baseline, load_tasks

    print(f"loading up to {args.tasks:,} tasks (half open)...")
    added += load_tasks(args.tasks)

    agent = baseline()["agent"]
    ticket = long_thread(agent)
    if added:
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE tickets_ticket")
            cur.execute("VACUUM ANALYZE threads_threadentry")
            cur.execute("VACUUM ANALYZE tickets_task")
            cur.execute("ANALYZE accounts_user")
    from tickets.models import Task

    total, open_ = Ticket.objects.count(), Ticket.objects.filter(state="open").count()
    tasks, open_tasks = Task.objects.count(), Task.objects.filter(state="open").count()
    print(f"{total:,} tickets, {open_:,} open; long thread: #{ticket.number}")
    print(f"{tasks:,} tasks, {open_tasks:,} open")

    from helpdesk.ops.gc import tune_for_serving

    tune_for_serving()  # as config/wsgi.py does in each gunicorn worker
    client = Client()
    client.force_login(agent)
    # (label, URL, p50 budget in ms: issue 19; the task queues: issue 13)
    pages = [
        ("open queue, first page", "/scp/queues/open/", 50),
        (
            "open queue, deep page (50,000th ticket)",
            "/scp/queues/open/?cursor=" + deep_cursor(agent, min(50_000, open_ - 30)),
            50,
        ),
        (f"ticket view, {THREAD_LENGTH}-entry thread", f"/scp/tickets/{ticket.number}/", 80),
        ("keyword search 'printer' (a fifth of all tickets)", "/scp/search/?q=printer", 50),
        ("keyword search 'jams' (one ticket's thread)", "/scp/search/?q=jams", 50),
        (f"task queue, open, first page ({open_tasks:,} open tasks)", "/scp/tasks/", 100),
        ("task queue, mine, first page", "/scp/tasks/queues/mine/", 100),
    ]
    print(f"load average before: {loadavg()}")
    print(
        f"{'page':<52} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8} {'gc ms':>6} {'sql ms':>6}"
        f" {'queries':>8} {'calls':>8} {'budget':>8}"
    )
    for label, url, budget in pages:
        r = measure(client, url, args.runs)
        verdict = "ok" if r["p50"] < budget else "over"
        print(
            f"{label:<52} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['cpu']:>8.1f} {r['gc']:>6.1f}"
            f" {r['compile']:>6.1f} {r['queries']:>8} {r['calls']:>8,.0f}"
            f" {budget:>5} {verdict}",
            flush=True,
        )
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()
