"""A private redis-server for the outage tests: started on a free port in a temporary
folder, killed with SIGKILL mid-test and started again on the same port.

Use the `redis_process` fixture (it implies the `redis_server` marker of
tests/realservers.py), and `pointed_at(redis)` to send the cache and the Celery broker
there (not eager) for the duration of a test.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from . import realservers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisProcess:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.folder),
        ]
        self.proc = subprocess.Popen(  # noqa: S603 - a program found on PATH, fixed arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait(answering=True)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save; what it held is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.send_signal(signal.SIGCONT)  # a paused one too
            self.proc.wait(10)
        self._wait(answering=False)

    def restart(self) -> None:
        self.kill()
        self.start()

    def client(self, db: int = 0):
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=5)

    def fill_up(self) -> None:
        """Out of memory with `noeviction`: every write is refused (OOM), reads answer."""
        import redis

        admin = self.client()
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", "1mb")
        for n in range(100_000):  # small writes: a big one is refused for its own size
            try:
                admin.set(f"ballast:{n}", b"x" * 1024)
            except redis.exceptions.OutOfMemoryError:
                return
        raise RuntimeError("redis-server took 100 MB with maxmemory 1mb")

    def make_read_only(self) -> None:
        """A replica (of a master that is not there), as after a failover: writes are
        refused with READONLY, reads answer."""
        self.client().execute_command("REPLICAOF", "127.0.0.1", str(free_port()))

    def break_disk(self) -> None:
        """A failed background save with `stop-writes-on-bgsave-error`: writes are refused
        with MISCONF, reads answer."""
        admin = self.client()
        admin.config_set("save", "3600 1")
        self.folder.rmdir()  # its working folder: the save cannot create its file
        self.folder.mkdir()  # a new folder of that name, not the server's
        admin.bgsave()
        deadline = time.monotonic() + 10
        while admin.info("persistence")["rdb_last_bgsave_status"] != "err":
            if time.monotonic() > deadline:
                raise RuntimeError("the background save did not fail")
            time.sleep(0.05)

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections (the kernel does), nobody answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _wait(self, *, answering: bool, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._answers() is answering:
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} still {'down' if answering else 'up'}")


@pytest.fixture
def redis_process():
    realservers.require("redis_server")
    folder = Path(tempfile.mkdtemp(prefix="hd-redis-"))
    server = RedisProcess(folder).start()
    yield server
    server.kill()
    shutil.rmtree(folder, ignore_errors=True)


def _reset_broker_pools(app) -> None:
    from kombu import pools

    pools.reset()  # closes and forgets every connection and producer pool
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def celery_broker(url: str):
    """Celery publishes to `url` (not eager) inside the block."""
    from config.celery import app
    from helpdesk.outbox.services import breaker

    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = url, False
    _reset_broker_pools(app)
    breaker.reset()
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        _reset_broker_pools(app)
        breaker.reset()


@contextlib.contextmanager
def pointed_at(redis: RedisProcess, settings, *, cache_retry_seconds: float = 0.2):
    """The cache (db 1) and the Celery broker (db 0) of this test use `redis`."""
    settings.REDIS_URL = redis.url(1)
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": redis.url(1),
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "retry_seconds": cache_retry_seconds,
            },
        }
    }
    with celery_broker(redis.url(0)) as app:
        yield app
