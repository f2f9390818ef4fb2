"""Where a panel page's time goes: each SQL statement with its time, and the rest.

    .venv/bin/python bench/statements.py /scp/tasks/ [/scp/tickets/N/ ...] [--runs 10]

Runs against bench/panel.py's database (PANEL_BENCH_DATABASE_URL, loaded by that
script first), signed in as the bench agent. For each URL: the median server time over
`--runs` requests, the median time of each statement (in the order the page runs
them, the slowest marked) and what is left for Python and templates.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import setup_django
from bench.panel import DEFAULT_DB


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("CONN_MAX_AGE", "60")
    setup_django(os.environ.get("PANEL_BENCH_DATABASE_URL", DEFAULT_DB))

    from django.db import connection
    from django.test import Client

    from bench.bulk import baseline

    client = Client()
    client.force_login(baseline()["agent"])
    for url in args.urls:
        totals: list[float] = []
        per: dict[int, list[float]] = {}
        sqls: dict[int, str] = {}
        for run in range(args.runs + 2):
            seen: list[tuple[str, float]] = []

            def timed(execute, sql, params, many, context, seen=seen):
                start = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    seen.append((sql, (time.perf_counter() - start) * 1000))

            start = time.perf_counter()
            with connection.execute_wrapper(timed):
                response = client.get(url, secure=True)
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                sys.exit(f"{url}: HTTP {response.status_code}")
            if run < 2:  # warm-up
                continue
            totals.append(elapsed)
            for i, (sql, ms) in enumerate(seen):
                per.setdefault(i, []).append(ms)
                sqls[i] = sql
        total = statistics.median(totals)
        sql_ms = sum(statistics.median(v) for v in per.values())
        print(f"\n{url}: {total:.1f} ms p50, {len(per)} statements, {sql_ms:.1f} ms of SQL")
        for i, values in per.items():
            ms = statistics.median(values)
            mark = " <--" if ms > 3 else ""
            print(f"  {ms:6.2f} ms  {' '.join(sqls[i].split())[:150]}{mark}")


if __name__ == "__main__":
    main()
