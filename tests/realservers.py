"""The one rule for the real servers the tests use.

A test that needs a real server says so with the server's marker (`@pytest.mark.postgres`,
`redis`, `redis_server`, `dovecot`, `nginx`, `s3`, `chromium`, `cluster`), or by using a
fixture that implies it (`dovecot`, `browser`, `page`, ...). When the server is missing, the test is
skipped with a reason naming the server and how to get it, and pytest's
summary lists the skip (`-ra` in pyproject.toml). With `REQUIRE_REAL_SERVERS=1` (set by
`.ci/run`) the same test fails instead, naming the missing server, so CI proves every
real-server test on every submission.

`tests/conftest.py` applies the rule before a test's fixtures are set up; fixtures that
start a server also call `require()`, so no test reaches a missing server either way.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REQUIRE_VARIABLE = "REQUIRE_REAL_SERVERS"
# Markers of servers to report missing even when present: to see what a fresh machine
# sees (`REAL_SERVERS_PRETEND_MISSING=dovecot,chromium make test`), and to test the rule.
PRETEND_VARIABLE = "REAL_SERVERS_PRETEND_MISSING"


@dataclass(frozen=True)
class RealServer:
    marker: str  # the pytest marker that asks for it
    name: str  # what a person calls it
    enables: str  # which tests it turns on
    how: str  # how to get it (the Debian package, or the variable to set)
    check: Callable[[], str | None]  # None when available, else why not
    fixtures: tuple[str, ...] = ()  # fixtures that imply it


def _database_vendor() -> str | None:
    from django.db import connection

    return None if connection.vendor == "postgresql" else f"the database is {connection.vendor}"


def _answers(url: str, timeout: float = 0.5) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout):
            return None
    except OSError as exc:
        return f"{parts.hostname}:{parts.port or 6379} does not answer ({exc.strerror or exc})"


def _redis() -> str | None:
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", "")
    return _answers(url) if url else "REDIS_URL is not set"


def _program(name: str) -> Callable[[], str | None]:
    def check() -> str | None:
        return None if shutil.which(name) else f"`{name}` is not on PATH"

    return check


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # sbin is not on every PATH


def _nginx() -> str | None:
    return None if os.path.exists(NGINX) else "nginx is not installed"


def _moto() -> str | None:
    from importlib.util import find_spec

    if find_spec("moto") is None or find_spec("flask") is None:
        return "moto[server] is not installed"
    if find_spec("storages") is None or find_spec("boto3") is None:
        return "django-storages[s3] is not installed"
    from .s3_process import moto_server_program

    return None if moto_server_program() else "`moto_server` is not on PATH"


RABBITMQ_URL = os.environ.get("CLUSTER_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")
RABBITMQCTL = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"  # sbin, as nginx


def _rabbitmq() -> str | None:
    if not os.path.exists(RABBITMQCTL):
        return "rabbitmqctl is not installed"
    parts = urlsplit(RABBITMQ_URL)
    return _answers(f"amqp://{parts.hostname}:{parts.port or 5672}")


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _chromium() -> str | None:
    found = shutil.which(CHROMIUM) or Path(CHROMIUM).exists()
    return None if found else f"{CHROMIUM} not found"


MARIADB = os.environ.get("OSTICKET_TEST_MARIADB", "mysql://root@127.0.0.1:3306")


def _mariadb() -> str | None:
    try:
        import pymysql
    except ImportError:
        return "PyMySQL is not installed (pip install '.[osticket]')"
    parts = urlsplit(MARIADB)
    try:
        pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            connect_timeout=2,
        ).close()
    except pymysql.err.MySQLError as exc:
        return f"{parts.hostname}:{parts.port or 3306} refused ({exc.args[-1]})"
    return None


SERVERS: dict[str, RealServer] = {
    server.marker: server
    for server in (
        RealServer(
            marker="postgres",
            name="PostgreSQL",
            enables="row locks, parallel claims and opens, full-text search",
            how="Debian package postgresql; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk",
            check=_database_vendor,
        ),
        RealServer(
            marker="redis",
            name="Redis",
            enables="the Redis cache backend",
            how="Debian package redis-server; set REDIS_URL=redis://127.0.0.1:6379/0",
            check=_redis,
        ),
        RealServer(
            marker="redis_server",
            name="redis-server (a private instance the test starts and stops)",
            enables="the outage tests",
            how="Debian package redis-server",
            check=_program("redis-server"),
            fixtures=("redis_process",),
        ),
        RealServer(
            marker="dovecot",
            name="Dovecot (IMAP and POP3)",
            enables="fetching mail from a real IMAP and POP3 server",
            how="Debian packages dovecot-imapd dovecot-pop3d",
            check=_program("dovecot"),
            fixtures=("dovecot",),
        ),
        RealServer(
            marker="mariadb",
            name="MariaDB (an osTicket-shaped database for the importer's tests)",
            enables="the osTicket importer tests (tests/osticket)",
            how="Debian package mariadb-server, root without a password on 127.0.0.1:3306, "
            "or set OSTICKET_TEST_MARIADB=mysql://USER:PASS@HOST:PORT",
            check=_mariadb,
            fixtures=("osticket",),
        ),
        RealServer(
            marker="nginx",
            name="nginx (the deploy/ site in front of gunicorn)",
            enables="the reverse proxy test (tests/ops/test_nginx.py)",
            how="Debian package nginx (or nginx-light)",
            check=_nginx,
        ),
        RealServer(
            marker="cluster",
            name="RabbitMQ (the broker of the cluster test, tests/cluster)",
            enables="the failure tests of two web instances, two workers and beat",
            how="Debian package rabbitmq-server, running (`rabbitmq-server -detached`) "
            "with rabbitmqctl on this machine",
            check=_rabbitmq,
        ),
        RealServer(
            marker="s3",
            name="an S3-compatible server (moto's server mode, started by the tests)",
            enables="attachments on object storage (tests/threads/test_s3_storage.py)",
            how="pip install '.[dev]' (moto[server]) and django-storages[s3]",
            check=_moto,
            fixtures=("moto_server", "s3"),
        ),
        RealServer(
            marker="chromium",
            name="Chromium",
            enables="the browser tests (tests/e2e)",
            how="Debian package chromium, or set CHROMIUM=/path/to/chromium",
            check=_chromium,
            fixtures=("browser", "page", "new_page"),
        ),
    )
}


def required() -> bool:
    return os.environ.get(REQUIRE_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


@cache
def missing(marker: str) -> str | None:
    """Why the server behind `marker` is not available, or None when it is."""
    if marker in os.environ.get(PRETEND_VARIABLE, "").replace(" ", "").split(","):
        return f"{PRETEND_VARIABLE} names it"
    return SERVERS[marker].check()


def message(server: RealServer, why: str) -> str:
    return f"needs {server.name}: {why} (get it: {server.how})"


def require(marker: str, *, why: str | None = None) -> None:
    """Skip the current test when the server is missing, or fail it when
    REQUIRE_REAL_SERVERS is set."""
    server = SERVERS[marker]
    why = why if why is not None else missing(marker)
    if why is None:
        return
    text = message(server, why)
    if required():
        pytest.fail(f"{text}; {REQUIRE_VARIABLE} is set, so this is a failure", pytrace=False)
    pytest.skip(text)


def markers_of(item: pytest.Item) -> list[str]:
    """The servers a test needs: its markers and the fixtures that imply a server."""
    names = set(getattr(item, "fixturenames", ()))
    return [
        marker
        for marker, server in SERVERS.items()
        if item.get_closest_marker(marker) is not None or names & set(server.fixtures)
    ]
