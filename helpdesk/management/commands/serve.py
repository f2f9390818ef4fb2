"""Run the helpdesk as a service on this machine: `make serve`.

Checks that the settings a production stack needs are there (and says which are not,
all at once, before anything starts), applies migrations, collects the static files
(hashed and compressed when STATIC_FILES_STORAGE is WhiteNoise's, as `make serve` sets
it), then runs and watches three processes:

- gunicorn with `config.wsgi` (workers: WEB_CONCURRENCY, else two per core plus one);
- a Celery worker;
- Celery beat (the periodic jobs of helpdesk.cron, schedule file in var/).

All three share PROMETHEUS_MULTIPROC_DIR (var/prometheus unless set), so `/metrics` on
any web worker reports the counts of every process (helpdesk.ops.instruments).

When one of them stops, the others are stopped and the command exits with its status
(a supervisor such as systemd restarts the whole; deploy/ has one unit per process for
those who want them apart). SIGTERM or Ctrl-C stops all three, gracefully first.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

GRACE_SECONDS = 30


def missing_settings() -> list[str]:
    """What stops a production start, one line each (empty when ready). The variables
    come from the environment or the .env file (config/settings.py reads both)."""
    problems = []
    if settings.DEBUG:
        problems.append("DEBUG is on: set DEBUG=0 (a service never shows tracebacks).")
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        problems.append("SECRET_KEY is the built-in development key: set your own.")
    if not os.environ.get("DATABASE_URL"):
        problems.append(
            "DATABASE_URL is not set: the service runs on PostgreSQL "
            "(postgres://user:password@host:5432/helpdesk)."
        )
    if settings.CELERY_BROKER_URL.startswith("memory://"):
        problems.append(
            "No broker: set REDIS_URL (redis://host:6379/0) or CELERY_BROKER_URL "
            "(amqp://user:password@host:5672//) for the Celery worker and beat."
        )
    if not os.environ.get("HELPDESK_BASE_URL"):
        problems.append(
            "HELPDESK_BASE_URL is not set: the address of the helpdesk as clients "
            "reach it (https://help.example.com), for the links in mail."
        )
    if settings.ALLOWED_HOSTS == ["127.0.0.1", "localhost", "testserver"] and not os.environ.get(
        "ALLOWED_HOSTS"
    ):
        problems.append(
            "ALLOWED_HOSTS is not set: the host names the helpdesk answers to (help.example.com)."
        )
    return problems


def web_workers() -> int:
    configured = os.environ.get("WEB_CONCURRENCY")
    if configured:
        return max(1, int(configured))
    return 2 * (os.cpu_count() or 1) + 1


class Command(BaseCommand):
    help = "Run gunicorn, a Celery worker and Celery beat: the helpdesk as a service."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument(
            "--host",
            default=os.environ.get("BIND_HOST", "127.0.0.1"),
            help="Address to listen on (127.0.0.1 behind a proxy on this machine).",
        )
        parser.add_argument(
            "--check", action="store_true", help="Only check the settings and exit."
        )

    def handle(self, *args, **options):
        problems = missing_settings()
        if problems:
            raise CommandError(
                "Not starting; the service needs:\n" + "\n".join(f"  - {p}" for p in problems)
            )
        if options["check"]:
            self.stdout.write("The settings are ready for a production start.")
            return
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        # the processes' metrics (helpdesk.ops.instruments) in one folder that /metrics
        # adds up; emptied first: the counts of processes gone before this start
        # belong to no one running
        metrics_dir = Path(
            os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.VAR_DIR / "prometheus"
        )
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        bind = f"{options['host']}:{options['port']}"
        schedule = settings.VAR_DIR / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        commands = {
            "web": [
                sys.executable, "-m", "gunicorn", "config.wsgi:application",
                "--bind", bind, "--workers", str(web_workers()),
                "--access-logfile", "-", "--graceful-timeout", str(GRACE_SECONDS),
            ],
            "worker": [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--loglevel", "INFO", "--without-mingle", "--without-gossip",
            ],
            "beat": [
                sys.executable, "-m", "celery", "-A", "config", "beat",
                "--loglevel", "INFO", "--schedule", str(schedule),
            ],
        }  # fmt: skip
        self.stdout.write(f"Serving on http://{bind}/ with {web_workers()} web workers.")
        sys.exit(self.supervise(commands))

    def supervise(self, commands: dict[str, list[str]]) -> int:
        procs = {name: subprocess.Popen(argv) for name, argv in commands.items()}  # noqa: S603
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        status = 0
        try:
            while not stopping:
                ended = [(n, p.returncode) for n, p in procs.items() if p.poll() is not None]
                if ended:
                    name, status = ended[0]
                    self.stderr.write(f"{name} stopped (status {status}); stopping the others.")
                    status = status or 1
                    break
                time.sleep(0.5)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + GRACE_SECONDS
            for proc in procs.values():
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        return status
