"""`make run` on a machine with no Redis and no PostgreSQL: it migrates an embedded SQLite
database, loads the demo, serves the app and runs the periodic jobs beside it."""

import os
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.mail.servers import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make, as the README does"),
]


def _get(url: str, timeout: float = 5) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own server
        return response.status


def _wait_until(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make run ended ({proc.returncode}) before {what}:\n{log.read_text()}")
        try:
            if predicate():
                return
        except (OSError, sqlite3.Error):
            pass
        time.sleep(0.5)
    pytest.fail(f"no {what} after {timeout} s:\n{log.read_text()[-3000:]}")


def test_make_run_serves_the_demo_and_runs_the_periodic_jobs_without_redis_or_postgres(
    tmp_path,
):
    port = free_port()
    db = tmp_path / "db.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DATABASE_URL", "PYTEST_XDIST_WORKER", "DEBUG", "SECRET_KEY"}
    }
    env_file = tmp_path / ".env"  # never the developer's own .env
    env.update(
        ENV_FILE=str(env_file),
        PORT=str(port),
        DATABASE_URL=f"sqlite:///{db}",
        MEDIA_ROOT=str(tmp_path / "media"),
        MAIL_DIR=str(tmp_path / "mail"),
        CRON_OVERDUE_SWEEP_SECONDS="1",
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "run"],  # noqa: S607
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _get(base + "/") == 200, 240, "portal page", proc, log)
        # its first run wrote a random SECRET_KEY (migrate runs with DEBUG off)
        [line] = env_file.read_text().splitlines()
        assert line.startswith("SECRET_KEY=") and len(line) > 60
        for path in ("/", "/open/", "/kb/", "/scp/login/", "/api/v1/schema/", "/api/v1/docs/"):
            # the schema is generated on request (seconds on a busy 2-core machine)
            assert _get(base + path, timeout=60) == 200, path

        # The periodic jobs run beside the server: an open ticket past its due time is
        # marked overdue by the sweep (every second here) without anyone asking.
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA busy_timeout = 5000")
            (ticket_id,) = conn.execute(
                "SELECT id FROM tickets_ticket WHERE state = 'open' ORDER BY id LIMIT 1"
            ).fetchone()
            conn.execute(
                "UPDATE tickets_ticket SET sla_due_at = '2000-01-01 00:00:00', due_at = NULL,"
                " is_overdue = 0, sla_paused_at = NULL WHERE id = ?",
                (ticket_id,),
            )

        def overdue() -> bool:
            with sqlite3.connect(db) as conn:
                row = conn.execute(
                    "SELECT is_overdue FROM tickets_ticket WHERE id = ?", (ticket_id,)
                ).fetchone()
            return row == (1,)

        _wait_until(overdue, 30, "overdue sweep", proc, log)
        assert b"run_cron --loop" in log.read_bytes() or b"on their intervals" in log.read_bytes()

        # After the server's own lines: the addresses on the port served, and the demo
        # sign-ins; the demo's mail is in files, its links on that port too.
        _wait_until(  # printed once the server answers: on a busy machine, a while after
            lambda: "The helpdesk is running:" in log.read_text(), 60, "the summary", proc, log
        )
        output = log.read_text()
        summary = output[output.index("The helpdesk is running:") :]
        assert output.index("Starting development server") < output.index(summary)
        for line in (f"Portal       {base}/", f"Staff panel  {base}/scp/", "admin "):
            assert line in summary
        assert "alice@example.com    / alice" in summary
        assert f"written to {tmp_path / 'mail'}/" in summary
        _wait_until(lambda: any((tmp_path / "mail").iterdir()), 60, "mail files", proc, log)
        mails = "".join(p.read_text() for p in (tmp_path / "mail").iterdir())
        assert f"{base}/tickets/" in mails or f"{base}/scp/tickets/" in mails
        assert "http://127.0.0.1:8000/" not in mails or port == 8000
        assert "Content-Type: text/plain" not in output  # no mail on the console
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
