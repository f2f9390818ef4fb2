"""The pieces of the cluster test (tests/cluster): real processes on this machine, each
in a process group of its own so that `kill()` is a machine lost (SIGKILL to the whole
group, no `finally`, no graceful shutdown); a RabbitMQ virtual host of the test's own;
an SMTP peer that counts what it accepted by Message-ID and can hold a DATA command;
and a round-robin HTTP client that retries a cut connection on the next instance with
the same request (the same Idempotency-Key)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http.client
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

from ..realservers import RABBITMQ_URL, RABBITMQCTL
from ..redis_process import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_until(check, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


# --- RabbitMQ ---------------------------------------------------------------------------


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    done = subprocess.run(  # noqa: S603 (fixed program, our arguments)
        [RABBITMQCTL, *args], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}")
    return done.stdout


def broker_answers() -> bool:
    from urllib.parse import urlsplit

    import amqp

    parts = urlsplit(RABBITMQ_URL)
    try:
        conn = amqp.Connection(f"{parts.hostname}:{parts.port or 5672}", connect_timeout=1)
        conn.connect()
        conn.close()
        return True
    except Exception:
        return False


class Vhost:
    """A RabbitMQ virtual host of this test's own, deleted after."""

    def __init__(self):
        self.name = f"hd_cluster_{secrets.token_hex(4)}"

    def __enter__(self) -> Vhost:
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self

    @property
    def url(self) -> str:
        return f"{RABBITMQ_URL}/{self.name}"

    def __exit__(self, *exc):
        start_broker()  # whatever happened in the test, RabbitMQ runs again
        rabbitmqctl("delete_vhost", self.name)


def stop_broker() -> None:
    rabbitmqctl("stop_app")


def start_broker() -> None:
    if not broker_answers():
        rabbitmqctl("start_app")
        wait_until(broker_answers, 60, "RabbitMQ answering again")


# --- processes --------------------------------------------------------------------------


class Process:
    """One of our processes (gunicorn, a Celery worker, beat), its output in a file."""

    def __init__(self, name: str, argv: list[str], env: dict, logs: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> Process:
        self.starts += 1
        with self.log.open("a") as out:
            out.write(f"\n===== start {self.starts} =====\n")
            out.flush()
            self.proc = subprocess.Popen(  # noqa: S603 (our own programs)
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes all of it
            )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def group(self) -> set[int]:
        """The pids of its process group (the master and its children)."""
        if self.proc is None:
            return set()
        found = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == self.proc.pid:  # pgrp
                found.add(int(entry))
        return found

    def kill(self) -> None:
        """SIGKILL to the whole group: the machine is gone."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        # children that were between fork and exec: none may outlive the "machine"
        wait_until(lambda: not self.group(), 10, f"{self.name}'s processes gone")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])


def gunicorn(name: str, port: int, env: dict, logs: Path, workers: int = 2) -> Process:
    """The web instance as `manage.py serve` runs it (config.wsgi, sync workers)."""
    return Process(
        name,
        [sys.executable, "-m", "gunicorn", "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--graceful-timeout", "30"],
        env, logs,
    )  # fmt: skip


def celery_worker(name: str, env: dict, logs: Path) -> Process:
    return Process(
        name,
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
         "--without-mingle", "--without-gossip", "--concurrency", "1",
         "--hostname", f"{name}@%h"],
        env, logs,
    )  # fmt: skip


def celery_beat(env: dict, logs: Path) -> Process:
    return Process(
        "beat",
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
         "--schedule", str(logs / "celerybeat-schedule")],
        env, logs,
    )  # fmt: skip


def answers(port: int, path: str = "/healthz") -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False


def _socket_inodes(local_port: int) -> set[str]:
    """The inodes of the TCP sockets with this local port (/proc/net/tcp, tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                found.add(fields[9])
    return found


def holds_port(process: Process, local_port: int) -> bool:
    """Whether one of the process group's processes has the TCP socket of this local
    port open (the sender of a connection the SMTP peer sees)."""
    inodes = {f"socket:[{inode}]" for inode in _socket_inodes(local_port)}
    for pid in process.group():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return True
            except OSError:
                continue
    return False


# --- the SMTP peer ----------------------------------------------------------------------


class CountingSmtpPeer:
    """aiosmtpd in a thread. A message counts as accepted when its sender was still
    connected when the peer answered 250 to its DATA; the peer counts them by
    Message-ID. `hold_next()` makes the peer sit on the next DATA command (the whole
    message received, no answer yet) until `release()` or until the sender is gone:
    a message whose sender vanished meanwhile was never accepted (RFC 5321: no 250,
    no responsibility taken) and is recorded in `cut`."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.accepted: collections.Counter[str] = collections.Counter()
        self.cut: list[str] = []
        self.port = free_port()
        self._lock = threading.Lock()
        self._hold = threading.Event()
        self._release = threading.Event()
        self.holding = threading.Event()
        self.held: tuple[str, int] | None = None  # (Message-ID, the sender's port)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def hold_next(self) -> None:
        self._release.clear()
        self.holding.clear()
        self.held = None
        self._hold.set()

    def release(self) -> None:
        self._release.set()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        message_id = str(message["Message-ID"] or "").strip()
        if self._hold.is_set():
            self._hold.clear()
            self.held = (message_id, session.peer[1])
            self.holding.set()
            try:
                deadline = time.monotonic() + 30
                while not self._release.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    if server.transport is None or server.transport.is_closing():
                        break
            except asyncio.CancelledError:  # the connection was lost meanwhile
                with self._lock:
                    self.cut.append(message_id)
                raise
            if server.transport is None or server.transport.is_closing():
                with self._lock:
                    self.cut.append(message_id)
                return "421 sender gone"
        with self._lock:
            self.accepted[message_id] += 1
        return "250 OK"

    def start(self) -> CountingSmtpPeer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self.controller.stop()


# --- the round-robin client -------------------------------------------------------------


class RoundRobin:
    """Sends each request to the next web instance. A connection refused, reset or cut
    before the answer (an instance killed) is retried on the next instance, the same
    request with the same Idempotency-Key, until `deadline` seconds have passed; every
    answer (status) and every cut attempt is recorded."""

    RETRIABLE = (ConnectionError, http.client.HTTPException, TimeoutError, OSError)

    def __init__(self, ports: list[int], deadline: float = 90):
        self.ports = ports
        self.deadline = deadline
        self._next = 0
        self._lock = threading.Lock()
        self.statuses: collections.Counter[int] = collections.Counter()
        self.cut = 0
        self.answers: list[tuple[int, bytes]] = []  # non-2xx answers, for the report

    def _port(self) -> int:
        with self._lock:
            port = self.ports[self._next % len(self.ports)]
            self._next += 1
            return port

    def send(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        started = time.monotonic()
        while True:
            port = self._port()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                status, data = response.status, response.read()
                conn.close()
            except self.RETRIABLE:
                with self._lock:
                    self.cut += 1
                if time.monotonic() - started > self.deadline:
                    raise
                time.sleep(0.1)
                continue
            with self._lock:
                self.statuses[status] += 1
                if not 200 <= status < 300:
                    self.answers.append((status, data[:300]))
            return status, data
