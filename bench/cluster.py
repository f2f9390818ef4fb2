"""Benchmark of API ticket creates with one and with two web instances (issue 18).

    .venv/bin/python bench/cluster.py [--creates 800] [--clients 8] [--workers N]
                                      [--no-idempotency-key]

1. Prepares a dedicated PostgreSQL database (`hd_cluster_bench`, BENCH_CLUSTER_DATABASE_URL)
   with the bench baseline (bench/bulk.py: a department, agents, clients) and an API
   key that opens tickets there.
2. Starts two gunicorn instances on 127.0.0.1 with the settings `manage.py serve` uses
   (config.wsgi, sync workers: WEB_CONCURRENCY or two per core plus one each, DEBUG
   off, persistent database connections: CONN_MAX_AGE=60 unless set, as bench/api.py),
   Redis as cache and Celery broker (nothing consumes the queued work during the
   run; the Redis database is flushed after), throttling raised out of the way.
3. Sends `--creates` POST /api/v1/tickets/ (API key, Idempotency-Key) from `--clients`
   concurrent clients, first all to one instance, then round-robin over both.
4. Prints tickets per second, median and p95 latency for each, as a Markdown table.

The web instances, the bench's clients and PostgreSQL share this machine's cores: on a
small machine the second instance adds processes, not CPU. Every request goes to
127.0.0.1 only; loops are bounded.
"""

import argparse
import http.client
import itertools
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

from bench.bulk import setup_django  # noqa: E402

DB_URL = os.environ.get(
    "BENCH_CLUSTER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_cluster_bench"
)
PORTS = [int(p) for p in os.environ.get("BENCH_CLUSTER_PORTS", "8771,8772").split(",")]
REDIS_URL = os.environ.get("BENCH_CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/4")


def prepare() -> tuple[str, int]:
    setup_django(DB_URL)
    from accounts.actors import SYSTEM
    from accounts.apikeys import api_key_create
    from bench.bulk import baseline
    from tickets.models import HelpdeskSettings

    base = baseline()
    config = HelpdeskSettings.load()
    config.default_department = base["department"]
    config.save()
    _, key = api_key_create(
        actor=SYSTEM,
        name="bench cluster",
        allowed_ips=["127.0.0.1"],
        can_create_tickets=True,
        write_departments=[base["department"]],
    )
    return key, base["department"].pk


def web_workers(requested: int | None) -> int:
    from helpdesk.management.commands.serve import web_workers as serve_workers

    return requested or serve_workers()


def start_instance(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "0",
        # persistent database connections, as bench/api.py (comparable figures)
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),
        "API_THROTTLE_CALLER": "1000000/min",
        "API_THROTTLE_ANON": "1000000/min",
        "LOG_LEVEL": "WARNING",
        # plain HTTP on loopback, as behind a TLS-terminating proxy; DEBUG off refuses the
        # built-in development key, so the run gets its own
        "SECURE_SSL_REDIRECT": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or os.urandom(32).hex(),
    }
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [sys.executable, "-m", "gunicorn", "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--graceful-timeout", "30", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit(f"gunicorn on {port} did not start")


def stop(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        server.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def run(
    name: str,
    ports: list[int],
    key: str,
    department: int,
    total: int,
    clients: int,
    idempotency: bool = True,
):
    """`total` creates from `clients` threads, each request to the next port in turn."""
    latencies, errors = [], []
    lock = threading.Lock()
    turn = itertools.count()
    numbers = itertools.count()
    run_id = os.urandom(4).hex()

    def client():
        while True:
            with lock:
                n = next(numbers)
                if n >= total:
                    return
                port = ports[next(turn) % len(ports)]
            body = json.dumps(
                {
                    "subject": f"Cluster bench {run_id} {n}",
                    "body": "The printer is on fire again.",
                    "requester_email": f"client{n % 1000}@bench.test",
                    "department": department,
                }
            )
            headers = {"X-API-Key": key, "Content-Type": "application/json"}
            if idempotency:
                headers["Idempotency-Key"] = f"bench-{run_id}-{n}"
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", "/api/v1/tickets/", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed * 1000)
                if response.status != 201:
                    errors.append((response.status, data[:200]))

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    result = {
        "scenario": name,
        "clients": clients,
        "requests": len(latencies),
        "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "errors": len(errors),
        # other work on the machine skews the figures: the load average says how much
        "load_1min": round(os.getloadavg()[0], 1),
    }
    if errors:
        result["first_error"] = str(errors[0])
    print(json.dumps(result), flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=800, help="creates per scenario")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers per instance "
        "(default: as manage.py serve, WEB_CONCURRENCY or two per core plus one)"
    )  # fmt: skip
    parser.add_argument(
        "--no-idempotency-key", action="store_true",
        help="send no Idempotency-Key (its record costs an INSERT and an UPDATE per create)",
    )  # fmt: skip
    args = parser.parse_args()
    keyed = not args.no_idempotency_key
    key, department = prepare()
    workers = web_workers(args.workers)
    print(f"{os.cpu_count()} cores, {workers} gunicorn workers per instance", flush=True)
    servers = [start_instance(port, workers) for port in PORTS]
    try:
        run("warm-up", PORTS, key, department, 40, 2)
        results = [
            run("1 web instance", PORTS[:1], key, department, args.creates, args.clients, keyed),
            run("2 web instances", PORTS, key, department, args.creates, args.clients, keyed),
        ]
    finally:
        stop(servers)
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    print("\n| web instances | clients | creates | per second | p50 ms | p95 ms | load |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['scenario'].split()[0]} | {r['clients']} | {r['requests']} | "
            f"{r['per_second']} | {r['p50_ms']} | {r['p95_ms']} | {r['load_1min']} |"
        )
    if any(r["errors"] for r in results):
        raise SystemExit("some requests failed (see first_error above): the figures are void")


if __name__ == "__main__":
    main()
