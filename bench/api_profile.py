"""Where a ticket create's Python time goes: cProfile over N creates, in process.

    .venv/bin/python bench/api_profile.py [--creates 200] [--tickets 20000] [--top 25]

Runs against bench/api.py's database (BENCH_API_DATABASE_URL; loaded with `--tickets`
tickets first, once) with Redis as Celery broker as in production (BENCH_API_REDIS_URL;
the queued tasks are flushed after). Each create goes through Django's WSGI handler
(the test client, DEBUG off, persistent connection), as gunicorn would call it, for
POST /api/v1/tickets/ (agent token) and for the osTicket-compatible POST
/api/tickets.json (API key). For each endpoint it prints:

- the SQL statements per create (counted, not timed);
- the Python function calls per create under cProfile (deterministic: the measure to
  compare before and after a change; CPU time on this shared machine is noisy);
- the CPU time per create without the profiler (process time, median of 5 rounds);
- the top frames by cumulative time and by own time (cProfile's "flame graph top").
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import DB_URL, REDIS_URL, server_environment  # noqa: E402


def environment() -> None:
    os.environ.update(server_environment())


def endpoints(secrets: dict):
    """(name, path, headers, body of the i-th create)."""

    def v1(i):
        return json.dumps(
            {
                "subject": f"Bench ticket {i}",
                "body": "The printer is on fire again.",
                "requester_email": f"client{i % 1000}@bench.test",
            }
        )

    def osticket(i):
        return json.dumps(
            {
                "name": f"Client {i % 1000}",
                "email": f"client{i % 1000}@bench.test",
                "subject": f"osTicket bench {i}",
                "message": "data:text/plain,The printer is on fire again.",
            }
        )

    return [
        ("/api/v1/tickets/", {"HTTP_AUTHORIZATION": f"Bearer {secrets['token']}"}, v1),
        ("/api/tickets.json", {"HTTP_X_API_KEY": secrets["key"]}, osticket),
    ]


def statements_per_create(path, headers, body, client=None, *, show=False) -> float:
    """SQL statements per create on one endpoint, over 10 creates after one warm-up."""
    from django.db import connection
    from django.test import Client

    client = client or Client(REMOTE_ADDR="127.0.0.1")
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def create(i):
        response = client.post(path, body(i), content_type="application/json", **headers)
        if response.status_code != 201:
            raise SystemExit(f"{path}: HTTP {response.status_code} {response.content[:300]!r}")

    create(0)  # warm: what a process reads once
    with connection.execute_wrapper(count):
        for i in range(1, 11):
            create(i)
    if show:
        for sql in statements[: len(statements) // 10]:
            print("   ", sql[:160])
    return len(statements) / 10


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=200, help="per endpoint and round")
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets loaded first")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sql", action="store_true", help="print one create's statements")
    parser.add_argument("--dump", help="write each endpoint's profile to DUMP-<n>.prof")
    args = parser.parse_args()
    environment()
    from bench.api import prepare

    secrets = prepare(args.tickets, database_url=DB_URL, deep_cursor=False)

    import redis
    from django.test import Client

    from helpdesk.ops.gc import tune_for_serving

    tune_for_serving()  # as config/wsgi.py does in each gunicorn worker

    client = Client(REMOTE_ADDR="127.0.0.1")
    counter = iter(range(10**9))
    budget_statements = 13
    failed = False
    try:
        for path, headers, body in endpoints(secrets):

            def create(path=path, headers=headers, body=body):
                response = client.post(
                    path, body(next(counter)), content_type="application/json", **headers
                )
                if response.status_code != 201:
                    raise SystemExit(
                        f"{path}: HTTP {response.status_code} {response.content[:300]!r}"
                    )

            for _ in range(20):  # warm-up: imports, caches, the connection
                create()

            per_create = statements_per_create(path, headers, body, client, show=args.sql)

            cpu = []
            for _ in range(5):
                started = time.process_time()
                for _ in range(args.creates):
                    create()
                cpu.append((time.process_time() - started) * 1000 / args.creates)

            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.creates):
                create()
            profile.disable()
            stats = pstats.Stats(profile)
            if args.dump:
                stats.dump_stats(f"{args.dump}-{path.strip('/').replace('/', '-')}.prof")
            calls = stats.total_calls / args.creates  # type: ignore[attr-defined]

            print(f"\n== POST {path}")
            print(
                f"statements per create: {per_create:g} (budget <= {budget_statements}: "
                f"{'ok' if per_create <= budget_statements else 'OVER'})"
            )
            print(f"function calls per create (cProfile): {calls:,.0f}")
            print(
                f"CPU per create in process (no profiler, median of 5 x {args.creates}): "
                f"{statistics.median(cpu):.2f} ms (rounds {', '.join(f'{c:.2f}' for c in cpu)})"
            )
            print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
            for order in ("cumulative", "tottime"):
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
                text = out.getvalue()
                start = text.find("   ncalls")
                print(f"-- top {args.top} by {order} (times for {args.creates} creates)")
                print(text[start:].rstrip())
            failed = failed or per_create > budget_statements
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()
    if failed:
        raise SystemExit("over the statement budget")


if __name__ == "__main__":
    main()
