"""Benchmark of the API against gunicorn (2 workers) on PostgreSQL.

    .venv/bin/python bench/api.py [--tickets 1000000] [--creates 400] [--reads 200]

1. Loads `--tickets` tickets into a dedicated database (`hd_api_bench`, set-based, see
   bench/bulk.py; about a minute for a million), once. A smaller `--tickets` runs on a
   smaller database: the create figures (CPU and statements per create) hardly depend
   on its size, the list pages do (the deep page is 90% down the list, at most 900,000).
2. Starts gunicorn with 2 sync workers on 127.0.0.1 (DEBUG off, persistent database
   connections, Redis as cache and Celery broker as in production, throttling raised
   out of the way).
3. Creates tickets through POST /api/v1/tickets/ (agent token) and through the
   osTicket-compatible POST /api/tickets.json (API key), at 1 and at 8 concurrent
   clients, and reads list pages: the first page and a deep page (keyset cursor), as
   an agent of the department.
4. Prints median and p95 latency per scenario, requests per second, and the web
   workers' CPU per request (user + system time of the gunicorn workers from
   /proc, divided by the requests: the deterministic-ish figure on a shared machine),
   then each figure against its budget, with the SQL statements per create (counted
   in process, bench/api_profile.py) and the load average.

Budgets (issue 19): create p50 under 6 ms at 1 client and at least 300 tickets/s at 8
clients, through both endpoints, at most 13 SQL statements per create; (issue 3) a list
page under 30 ms p50 with 1,000,000 tickets, deep pages as fast.
Every request goes to 127.0.0.1 only; loops are bounded.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk import load_tickets, setup_django  # noqa: E402

DB_URL = os.environ.get("BENCH_API_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_api_bench")
PORT = int(os.environ.get("BENCH_API_PORT", "8765"))
# Celery tasks (mail, webhooks) are queued in Redis as in production, not run inside the
# web workers; nothing consumes them during the run and the database is flushed after.
REDIS_URL = os.environ.get("BENCH_API_REDIS_URL", "redis://127.0.0.1:6379/3")


def prepare(tickets: int, *, database_url: str = DB_URL, deep_cursor: bool = True) -> dict:
    setup_django(database_url)
    from accounts.actors import SYSTEM
    from accounts.apikeys import api_key_create, token_create
    from accounts.models import User
    from bench.bulk import baseline
    from tickets.models import HelpdeskSettings

    print(f"loading up to {tickets:,} tickets...", flush=True)
    load_tickets(tickets, open_fraction=0.1)
    base = baseline()
    config = HelpdeskSettings.load()
    config.default_department = base["department"]
    config.save()
    agent = User.objects.get(username="bench")
    _, token = token_create(actor=SYSTEM, user=agent, name="bench")
    # since issue 12 a key opens tickets only where its write scope reaches
    _, key = api_key_create(
        actor=SYSTEM,
        name="bench",
        allowed_ips=["127.0.0.1"],
        can_create_tickets=True,
        write_departments=[base["department"]],
    )
    offset = min(900_000, tickets * 9 // 10)
    deep = _deep_cursor(offset) if deep_cursor else None
    return {"token": token, "key": key, "deep_cursor": deep, "deep_offset": offset}


def _deep_cursor(offset: int) -> str:
    from helpdesk.api.pagination import KeysetPagination
    from tickets.models import Ticket

    row = Ticket.objects.order_by("-updated_at", "-id")[offset : offset + 1].get()
    return KeysetPagination._encode("-updated_at", row, "updated_at", back=False)


def server_environment() -> dict[str, str]:
    """The settings the app runs with in the API benches (gunicorn here, in process in
    bench/api_profile.py): production-like, throttles out of the way."""
    return {
        "DATABASE_URL": DB_URL,
        "DEBUG": "0",
        "CONN_MAX_AGE": "60",
        "API_THROTTLE_CALLER": "1000000/min",
        "API_THROTTLE_ANON": "1000000/min",
        "LOG_LEVEL": "WARNING",
        # plain HTTP on loopback, as behind a TLS-terminating proxy; DEBUG off refuses the
        # built-in development key, so the run gets its own
        "SECURE_SSL_REDIRECT": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or os.urandom(32).hex(),
        "REDIS_URL": REDIS_URL,
    }


def start_server(workers: int = 2) -> subprocess.Popen:
    env = {**os.environ, **server_environment()}
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{PORT}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/api/")
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def workers_cpu_ms(server: subprocess.Popen) -> float:
    """User + system CPU of gunicorn's workers (the master's children), in ms."""
    total = 0
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a worker restarted meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total * 1000 / CLOCK_TICKS


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def request(method, path, body=None, headers=None) -> tuple[int, float, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return response.status, elapsed, data


def run(name, make_request, total: int, clients: int, expect: int, server=None) -> dict:
    """`total` requests split over `clients` threads; latencies in ms."""
    latencies, errors = [], []
    lock = threading.Lock()
    per_client = total // clients

    def worker(n):
        for i in range(per_client):
            status, elapsed, data = make_request(n * per_client + i)
            with lock:
                latencies.append(elapsed * 1000)
                if status != expect:
                    errors.append((status, data[:200]))

    cpu_before = workers_cpu_ms(server) if server else 0.0
    busy_before = machine_busy()
    client_before = time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    cpu = workers_cpu_ms(server) - cpu_before if server else 0.0
    client_cpu = time.process_time() - client_before
    busy_after = machine_busy()
    busy = (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1)
    latencies.sort()
    result = {
        "scenario": name,
        "clients": clients,
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "per_second": round(len(latencies) / wall, 1),
        "worker_cpu_ms": round(cpu / len(latencies), 2),
        "machine_busy_pct": round(busy * 100),
        "client_cpu_ms": round(client_cpu * 1000 / len(latencies), 2),
        "errors": len(errors),
        "load": loadavg(),
    }
    if errors:
        result["first_error"] = str(errors[0])
    print(json.dumps(result), flush=True)
    return result


V1, OS = "create /api/v1/tickets/", "create /api/tickets.json"


def create_statements(secrets: dict) -> dict[str, float]:
    """SQL statements per create on each endpoint, counted in this process (Django's test
    client, the same database) after a warm-up create."""
    from bench.api_profile import endpoints, statements_per_create

    return {
        path: statements_per_create(path, headers, body)
        for path, headers, body in endpoints(secrets)
    }


def budgets(results: list[dict], statements: dict[str, float], tickets: int) -> list[str]:
    """Each figure against its budget: 'ok' or 'MISSED'."""

    def verdict(good: bool) -> str:
        return "ok" if good else "MISSED"

    lines = []
    for name, path in ((V1, "/api/v1/tickets/"), (OS, "/api/tickets.json")):
        one = next(r for r in results if r["scenario"] == name and r["clients"] == 1)
        eight = next(r for r in results if r["scenario"] == name and r["clients"] == 8)
        lines += [
            f"{name}: p50 {one['p50_ms']} ms at 1 client (budget < 6 ms): "
            f"{verdict(one['p50_ms'] < 6)}",
            f"{name}: {eight['per_second']}/s at 8 clients (budget >= 300/s): "
            f"{verdict(eight['per_second'] >= 300)}",
            f"{name}: {statements[path]:g} SQL statements per create (budget <= 13): "
            f"{verdict(statements[path] <= 13)}",
            f"{name}: web worker CPU {one['worker_cpu_ms']} ms per create at 1 client, "
            f"{eight['worker_cpu_ms']} ms at 8 (no budget: the figure to halve)",
        ]
    for r in results:
        if r["scenario"].startswith("list"):
            lines.append(
                f"{r['scenario']}, {r['clients']} client(s): p50 {r['p50_ms']} ms (budget < 30 ms"
                f" at 1,000,000 tickets; this run: {tickets:,}): {verdict(r['p50_ms'] < 30)}"
            )
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--creates", type=int, default=400, help="per create scenario")
    parser.add_argument("--reads", type=int, default=200, help="per list scenario")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn sync workers (2: the issue's side-by-side; the shipped service "
        "runs WEB_CONCURRENCY=5, two per core plus one, on 2 cores)",
    )
    args = parser.parse_args()
    from bench.api_profile import environment

    environment()  # this process counts statements per create as the server runs
    secrets = prepare(args.tickets)
    server = start_server(args.workers)
    token = {"Authorization": f"Bearer {secrets['token']}"}
    try:

        def v1_create(i):
            body = json.dumps(
                {
                    "subject": f"Bench ticket {i}",
                    "body": "The printer is on fire again.",
                    "requester_email": f"client{i % 1000}@bench.test",
                }
            )
            return request(
                "POST",
                "/api/v1/tickets/",
                body,
                {**token, "Content-Type": "application/json"},
            )

        def os_create(i):
            body = json.dumps(
                {
                    "name": f"Client {i % 1000}",
                    "email": f"client{i % 1000}@bench.test",
                    "subject": f"osTicket bench {i}",
                    "message": "data:text/plain,The printer is on fire again.",
                }
            )
            return request("POST", "/api/tickets.json", body, {"X-API-Key": secrets["key"]})

        def first_page(i):
            return request("GET", "/api/v1/tickets/?page_size=25", headers=token)

        def deep_page(i):
            path = f"/api/v1/tickets/?page_size=25&cursor={secrets['deep_cursor']}"
            return request("GET", path, headers=token)

        warm = run("warm-up", first_page, 20, 1, 200)
        if warm["errors"]:
            raise SystemExit(f"the server refuses the bench's requests: {warm['first_error']}")
        run("warm-up creates", v1_create, 40, 2, 201)
        run("warm-up creates", os_create, 40, 2, 201)
        deep = f"list page {secrets['deep_offset']:,} deep"
        results = [
            run(V1, v1_create, args.creates // 4, 1, 201, server),
            run(V1, v1_create, args.creates, 8, 201, server),
            run(OS, os_create, args.creates // 4, 1, 201, server),
            run(OS, os_create, args.creates, 8, 201, server),
            run("list first page", first_page, args.reads, 1, 200, server),
            run(deep, deep_page, args.reads, 1, 200, server),
            run("list first page", first_page, args.reads, 8, 200, server),
            run(deep, deep_page, args.reads, 8, 200, server),
        ]
        statements = create_statements(secrets)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        _flush_redis()
    print(
        f"\n{args.tickets:,} tickets, {args.workers} gunicorn workers; "
        f"load average at the end: {loadavg()}"
    )
    print(
        "| scenario | clients | requests | p50 ms | p95 ms | per second | worker CPU ms/req "
        "| machine busy % | load client CPU ms/req |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['scenario']} | {r['clients']} | {r['requests']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['per_second']} | {r['worker_cpu_ms']} | "
            f"{r['machine_busy_pct']} | {r['client_cpu_ms']} |"
        )
    print()
    for line in budgets(results, statements, args.tickets):
        print(line)
    if any(r["errors"] for r in results):
        raise SystemExit("some requests failed (see first_error above): the figures are void")


if __name__ == "__main__":
    main()
