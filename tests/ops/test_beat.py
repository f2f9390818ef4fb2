"""One Celery beat schedules at a time (helpdesk.ops.beat): two real beats on one
PostgreSQL and a private Redis broker, the second waits; the queue fills at one beat's
rate; kill -9 the leader and the standby takes over."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


class Beat:
    def __init__(self, env, folder: Path, name: str):
        self.log = folder / f"{name}.log"
        self.handle = self.log.open("w")
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
             "--schedule", str(folder / f"{name}-schedule")],
            cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str, seconds: float = 90) -> None:
        deadline = time.time() + seconds
        while not re.search(pattern, self.text()):
            assert self.proc.poll() is None, self.text()
            assert time.time() < deadline, f"no {pattern!r} in:\n{self.text()}"
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.handle.close()


def _queued(client, seconds: float) -> int:
    """Messages the beats queue in `seconds` (no worker consumes them)."""
    before = client.llen("celery")
    time.sleep(seconds)
    return client.llen("celery") - before


def test_two_beats_schedule_once_and_the_standby_takes_over(db, redis_process):
    settings_dict = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CRON_", "REDIS", "CELERY"))},
        "DATABASE_URL": (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{settings_dict['NAME']}"
        ),
        "REDIS_URL": redis_process.url(0),
        "SECRET_KEY": "beat-test-" + "k" * 40,
        "BEAT_STANDBY_RETRY_SECONDS": "0.5",
        "BEAT_LEADER_CHECK_SECONDS": "1",
        # one job a second, the others not within the test
        "CRON_OUTBOX_DRAIN_SECONDS": "1",
        **{f"CRON_{name}_SECONDS": "3600" for name in (
            "OVERDUE_SWEEP", "PURGE_LOCKS", "PURGE_DRAFTS", "PURGE_FILES", "PURGE_SESSIONS",
            "WEBHOOKS_RETRY", "PURGE_IDEMPOTENCY", "PURGE_ALERTS", "FETCH_MAIL",
            "PURGE_RETENTION",
        )},
    }  # fmt: skip
    client = redis.Redis.from_url(redis_process.url(0))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = Beat(env, folder, "first")
        second = None
        try:
            first.wait_for(r"beat: leader \(pid")
            second = Beat(env, folder, "second")
            second.wait_for(r"another beat is the leader; this one waits")
            first.wait_for(r"Sending due task cron-outbox_drain")

            # one beat's rate: about one message a second, not two
            queued = _queued(client, 8)
            assert 5 <= queued <= 10, queued
            assert "Sending due task" not in second.text()

            first.proc.kill()  # kill -9: no goodbye, the database ends its session
            first.proc.wait()
            second.wait_for(r"beat: leader \(pid", seconds=30)
            second.wait_for(r"Sending due task cron-outbox_drain", seconds=30)
            queued = _queued(client, 6)
            assert 3 <= queued <= 8, queued
        finally:
            first.stop()
            if second is not None:
                second.stop()
