"""Time the overdue sweep over a million open tickets, a tenth of them past due.

    .venv/bin/python bench/sla_sweep.py [--tickets 1000000] [--runs 3]

Loads the tickets once into the `helpdesk_bench` PostgreSQL database (set-based, see
bench/bulk.py; about a minute), then for each run: resets the overdue flags, runs
`tickets_mark_overdue()` and prints the wall time, the tickets marked, and the SQL
statements per batch. Budget (issue 5): under 10 seconds.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import load_tickets, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    setup_django()

    from django.db import connection

    from threads.models import ThreadEvent
    from tickets.models import Ticket
    from tickets.services.overdue import BATCH_SIZE, tickets_mark_overdue

    print(f"loading up to {args.tickets:,} tickets (all open, a tenth past due)...")
    load_tickets(args.tickets, open_fraction=1.0, overdue_fraction=0.1)
    due = Ticket.objects.filter(state="open").count()
    print(f"{Ticket.objects.count():,} tickets, {due:,} open")

    timings = []
    for run in range(1, args.runs + 1):
        Ticket.objects.filter(is_overdue=True).update(is_overdue=False)
        ThreadEvent.objects.filter(kind="overdue").delete()
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE tickets_ticket")
        statements: list[str] = []

        def count(execute, sql, params, many, context, seen=statements):
            seen.append(sql.split(None, 1)[0].upper())
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            started = time.monotonic()
            marked = tickets_mark_overdue()
            elapsed = time.monotonic() - started
        batches = -(-marked // BATCH_SIZE)
        data_statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE", "ROLLBACK")]
        events = ThreadEvent.objects.filter(kind="overdue").count()
        print(
            f"run {run}: {elapsed:.2f} s, {marked:,} marked overdue ({events:,} events) in {batches} "
            f"batches, {len(data_statements) / max(batches, 1):.2f} SQL statements per batch"
        )
        timings.append(elapsed)
    print(
        f"sweep: min {min(timings):.2f} s, median {statistics.median(timings):.2f} s, max {max(timings):.2f} s"
    )


if __name__ == "__main__":
    main()
