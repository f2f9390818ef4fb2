"""Time the overdue sweep over a million open tickets, a tenth of them past due.

    .venv/bin/python bench/sla_sweep.py [--tickets 1000000] [--tasks 0] [--runs 3]

Loads the tickets once into the `helpdesk_bench` PostgreSQL database (set-based, see
bench/bulk.py; about a minute), then for each run: resets the overdue flags, runs
`tickets_mark_overdue()` and prints the wall time, the tickets marked, and the SQL
statements per batch. Budget (issue 5): under 10 seconds.

With `--tasks N` it also loads N open tasks (a tenth past due, bench/bulk.load_tasks)
and times `tasks_mark_overdue()` the same way: issue 13 gives the task sweep the
tickets' budget.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import load_tasks, load_tickets, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    setup_django()

    from tickets.models import Task, Ticket
    from tickets.services.overdue import tasks_mark_overdue, tickets_mark_overdue

    print(f"loading up to {args.tickets:,} tickets (all open, a tenth past due)...")
    load_tickets(args.tickets, open_fraction=1.0, overdue_fraction=0.1)
    due = Ticket.objects.filter(state="open").count()
    print(f"{Ticket.objects.count():,} tickets, {due:,} open")

    sweep(Ticket, tickets_mark_overdue, args.runs)
    if args.tasks:
        print(f"loading up to {args.tasks:,} tasks (all open, a tenth past due)...", flush=True)
        load_tasks(args.tasks, open_fraction=1.0)
        print(f"{Task.objects.filter(state='open').count():,} open tasks")
        sweep(Task, tasks_mark_overdue, args.runs)


def sweep(model, mark_overdue, runs: int) -> None:
    from django.db import connection

    from threads.models import ThreadEvent
    from tickets.services.overdue import BATCH_SIZE

    if not model.objects.exists():
        return
    table = model._meta.db_table
    timings = []
    for run in range(1, runs + 1):
        model.objects.filter(is_overdue=True).update(is_overdue=False)
        ThreadEvent.objects.filter(kind="overdue").delete()
        with connection.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {table}")
        statements: list[str] = []

        def count(execute, sql, params, many, context, seen=statements):
            seen.append(sql.split(None, 1)[0].upper())
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            started = time.monotonic()
            marked = mark_overdue()
            elapsed = time.monotonic() - started
        batches = -(-marked // BATCH_SIZE)
        data_statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE", "ROLLBACK")]
        events = ThreadEvent.objects.filter(kind="overdue").count()
        print(
            f"{model.__name__} run {run}: {elapsed:.2f} s, {marked:,} marked overdue ({events:,} events) in {batches} "
            f"batches, {len(data_statements) / max(batches, 1):.2f} SQL statements per batch",
            flush=True,
        )
        timings.append(elapsed)
    print(
        f"{model.__name__} sweep: min {min(timings):.2f} s, median {statistics.median(timings):.2f} s, max {max(timings):.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
