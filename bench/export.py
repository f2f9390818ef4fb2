"""Exports in constant memory: a million rows out, peak memory under 100 MB.

    .venv/bin/python bench/export.py [--rows 1000000] [--formats csv,xlsx]
    .venv/bin/python bench/export.py --queryset [--tickets 1000000]

Each export runs in a fresh interpreter; its memory before the export (Django set up,
the source built) and its own peak RSS (VmHWM of /proc/self/status:
`resource.getrusage`'s ru_maxrss keeps the parent's peak across exec on Linux, so it
would report this script's size) and time are printed, and the run fails (exit 1) when
a peak reaches 100 MB.

- default: generated rows (seven columns as a queue's: number, subject, requester,
  priority, department, an integer, a time) through the writers (helpdesk.exports.writers):
  what the Celery job does with a queryset's rows.
- `--queryset`: the real path on PostgreSQL: the bench database of bench/panel.py
  (PANEL_BENCH_DATABASE_URL, topped up to `--tickets` tickets by bench/bulk.py), the
  "Closed" queue (nine in ten tickets) exported for the bench agent through the panel's
  export source (helpdesk.panel.exports: visibility, select_related, `.iterator()` in
  chunks on a server-side cursor) into each format.

The tests run the same check at 50,000 generated rows (tests/exports/test_writers.py).
Measured (a busy 2-core machine): generated, 1,000,000 rows: CSV 67 s, XLSX 337 s, peak
38 MB each; queryset, the 900,000 closed of 1,000,000 tickets: CSV 297 s, XLSX 513 s,
peak 91 MB each (86 MB before the export: Django with every app loaded).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT_MB = 100
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/helpdesk_bench_panel"


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_mb() -> float:
    return _status_mb("VmHWM")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def generated(n: int):
    import datetime as dt

    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        yield (
            str(100000 + i),
            f"Subject number {i} about a printer that jams",
            "Alice Example",
            "High",
            "Support",
            i,
            when + dt.timedelta(seconds=i),
        )


def child_generated(fmt: str, n: int) -> dict:
    from helpdesk.exports.writers import write

    base = rss_mb()

    fd, path = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(fd)
    try:
        written = write(fmt, path, ["a", "b", "c", "d", "e", "f", "g"], generated(n))
        return {"rows": written, "bytes": os.path.getsize(path), "base_mb": base}
    finally:
        os.unlink(path)


def prepare(tickets: int) -> dict:
    """Migrate and top up the bench database (in its own process: migrating loads every
    migration, which is not the export's memory)."""
    from bench.bulk import load_tickets, setup_django

    setup_django(os.environ.get("PANEL_BENCH_DATABASE_URL", DEFAULT_DB))
    return {"added": load_tickets(tickets, open_fraction=0.1, verbose=False)}


def child_queryset(fmt: str, tickets: int) -> dict:
    os.environ["DATABASE_URL"] = os.environ.get("PANEL_BENCH_DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.bulk import baseline
    from helpdesk.exports.registry import build
    from helpdesk.exports.writers import write

    agent = baseline()["agent"]
    table = build("panel.queue", user=agent, params={"slug": "closed", "sort": "-updated"})
    base = rss_mb()
    fd, path = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(fd)
    try:
        written = write(fmt, path, table.header, table.rows())
        return {"rows": written, "bytes": os.path.getsize(path), "base_mb": base}
    finally:
        os.unlink(path)


def run_child(args: list[str]) -> dict:
    started = time.monotonic()
    out = subprocess.run(  # noqa: S603 - this script, this interpreter
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(out.returncode)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["seconds"] = time.monotonic() - started
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--queryset", action="store_true")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, fmt, n = args.child
        if kind == "prepare":
            print(json.dumps({**prepare(int(n)), "peak_mb": peak_mb()}))
            return 0
        result = (child_queryset if kind == "queryset" else child_generated)(fmt, int(n))
        print(json.dumps({**result, "peak_mb": peak_mb()}))
        return 0
    failed = False
    kind, n = ("queryset", args.tickets) if args.queryset else ("generated", args.rows)
    if args.queryset:
        print(f"preparing the bench database ({n:,} tickets)...", flush=True)
        run_child(["prepare", "-", str(n)])
    print(
        f"{'export':<20} {'rows':>10} {'MB out':>8} {'seconds':>8} {'before MB':>10} {'peak MB':>8}"
    )
    for fmt in args.formats.split(","):
        r = run_child([kind, fmt, str(n)])
        ok = r["peak_mb"] < LIMIT_MB
        failed = failed or not ok
        label = f"{kind} {fmt}"
        print(
            f"{label:<20} {r['rows']:>10,} {r['bytes'] / 1e6:>8.1f} {r['seconds']:>8.1f} "
            f"{r['base_mb']:>10.1f} {r['peak_mb']:>8.1f}"
            f"{'' if ok else '  OVER ' + str(LIMIT_MB) + ' MB'}",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
