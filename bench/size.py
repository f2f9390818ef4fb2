"""Storage per 100,000 tickets with 1 KB messages (issue 19's budget: 200 MB).

    .venv/bin/python bench/size.py [--tickets 100000] [--body-bytes 1024] [--top 25]

Drops and recreates its own PostgreSQL database, `hd_size` (SIZE_BENCH_DATABASE_URL to
change it), migrates it, measures the empty database, loads the tickets with
bench/bulk.py (each with a first message of `--body-bytes` bytes of plain text), runs
VACUUM ANALYZE, then prints pg_database_size against the budget and the largest tables
(heap, TOAST and indexes) and indexes. Deterministic: the same code gives the same
bytes, whatever the load on the machine.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import load_tickets, setup_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hd_size"
BUDGET_MB = 200.0
MB = 1024 * 1024


def recreate(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_size(cur) -> int:
    cur.execute("VACUUM ANALYZE")
    cur.execute("SELECT pg_database_size(current_database())")
    return cur.fetchone()[0]


def report(cur, top: int) -> None:
    cur.execute(
        """
        SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),
               pg_total_relation_size(c.oid) - pg_relation_size(c.oid) - pg_indexes_size(c.oid),
               pg_indexes_size(c.oid), c.reltuples::bigint
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
        ORDER BY 2 DESC LIMIT %s
        """,
        [top],
    )
    print(
        f"\n{'table':<40} {'total MB':>9} {'heap MB':>8} {'toast MB':>9} {'index MB':>9} {'rows':>9}"
    )
    for name, total, heap, toast, index, rows in cur.fetchall():
        print(
            f"{name:<40} {total / MB:>9.1f} {heap / MB:>8.1f} {toast / MB:>9.1f} "
            f"{index / MB:>9.1f} {rows:>9,}"
        )
    cur.execute(
        """
        SELECT i.relname, t.relname, pg_relation_size(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public'
        ORDER BY 3 DESC LIMIT %s
        """,
        [top],
    )
    print(f"\n{'index':<60} {'table':<28} {'MB':>6}")
    for index, table, size in cur.fetchall():
        print(f"{index:<60} {table:<28} {size / MB:>6.1f}")
    for table in ("tickets_ticket", "threads_threadentry"):
        cur.execute(
            """
            SELECT count(*), coalesce(sum(pg_relation_size(indexrelid)), 0)
            FROM pg_index WHERE indrelid = %s::regclass
            """,
            [table],
        )
        count, size = cur.fetchone()
        print(f"{table}: {count} indexes, {size / MB:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--body-bytes", type=int, default=1024)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    url = os.environ.get("SIZE_BENCH_DATABASE_URL", DEFAULT_DB)
    recreate(url)
    setup_django(url)
    from django.db import connection

    with connection.cursor() as cur:
        empty = database_size(cur)
    started = time.monotonic()
    load_tickets(args.tickets, body_bytes=args.body_bytes, verbose=False)
    loaded = time.monotonic() - started
    with connection.cursor() as cur:
        full = database_size(cur)
        report(cur, args.top)
    scale = 100_000 / args.tickets
    per_100k = full * scale / MB
    print(
        f"\n{args.tickets:,} tickets, {args.body_bytes}-byte bodies, loaded in {loaded:.0f} s"
        f"\nempty database (migrated): {empty / MB:.1f} MB"
        f"\npg_database_size: {full / MB:.1f} MB ({(full - empty) / MB:.1f} MB over empty)"
        f"\nper 100,000 tickets: {per_100k:.1f} MB against a budget of {BUDGET_MB:.0f} MB: "
        f"{'met' if per_100k <= BUDGET_MB else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
