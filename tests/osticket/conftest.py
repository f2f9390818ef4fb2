"""An osTicket-shaped MariaDB database for the importer's tests.

One throwaway database per test session (per xdist worker), created from schema.sql and
dropped at the end; every test starts from empty tables (`osticket`, seeded with the
install's basics). MariaDB is a real server of tests/realservers.py: missing, the tests
are skipped naming it, or fail under REQUIRE_REAL_SERVERS=1 (CI).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import realservers

from .factories import OsTicket

SCHEMA = Path(__file__).with_name("schema.sql")


def _connect(database: str | None = None):
    import pymysql

    parts = urlsplit(realservers.MARIADB)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=database,
        autocommit=True,
        charset="utf8mb4",
    )


def source_url(database: str) -> str:
    parts = urlsplit(realservers.MARIADB)
    auth = parts.username or "root"
    if parts.password:
        auth += f":{parts.password}"
    return f"mysql://{auth}@{parts.hostname or '127.0.0.1'}:{parts.port or 3306}/{database}"


def create_database(name: str) -> None:
    with _connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cursor.execute(f"USE `{name}`")
        cursor.execute("SET SESSION sql_mode = ''")  # osTicket runs without strict mode
        for statement in SCHEMA.read_text().split(";\n"):
            lines = [ln for ln in statement.splitlines() if not ln.startswith("--")]
            if "".join(lines).strip():
                cursor.execute("\n".join(lines))


def drop_database(name: str) -> None:
    with _connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="session")
def osticket_database() -> Iterator[str]:
    realservers.require("mariadb")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"ost_test_{worker}_{secrets.token_hex(3)}"
    create_database(name)
    yield name
    drop_database(name)


@pytest.fixture
def osticket(osticket_database) -> Iterator[OsTicket]:
    """Empty osTicket tables with the install's basics (OsTicket.seed())."""
    conn = _connect(osticket_database)
    with conn.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = ''")
        cursor.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            [osticket_database],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"TRUNCATE TABLE `{table}`")
    db = OsTicket(conn, osticket_database, source_url(osticket_database)).seed()
    yield db
    conn.close()
