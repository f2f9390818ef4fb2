"""An osTicket-shaped MariaDB database for the importer's tests.

One throwaway database per test session (per xdist worker), created from schema.sql and
dropped at the end; every test starts from empty tables (`osticket`, seeded with the
install's basics). MariaDB is a real server of tests/realservers.py: missing, the tests
are skipped naming it, or fail under REQUIRE_REAL_SERVERS=1 (CI).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import realservers

from .factories import T0, OsTicket

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


@pytest.fixture
def helpdesk(osticket):
    """A small osTicket with a bit of everything."""
    db = osticket
    ids = db.ids
    ids["billing"] = db.department("Billing", pid=ids["dept"], email_id=0)
    ids["alex"] = db.staff(
        "alex", "alex@example.com", signature="-- Alex", timezone="Europe/Berlin"
    )
    ids["bea"] = db.staff("bea", "bea@example.com", dept_id=ids["billing"], isadmin=1)
    db.insert(
        "staff_dept_access",
        staff_id=ids["alex"],
        dept_id=ids["billing"],
        role_id=ids["role"],
        flags=1,
    )
    db.execute("UPDATE ost_department SET manager_id = %s WHERE id = %s", [ids["bea"], ids["dept"]])
    ids["team"] = db.team("Level 2", lead_id=ids["alex"], members=(ids["alex"], ids["bea"]))
    ids["topic"] = db.topic(
        "Hardware", priority_id=ids["priority:high"], sla_id=ids["sla"], team_id=ids["team"]
    )
    ids["subtopic"] = db.topic("Printers", topic_pid=ids["topic"])
    ids["acme"] = db.organization("Acme", domain="acme.example, acme.test", status=0x10)
    ids["jane"] = db.user(
        "Jane Doe",
        "jane@acme.example",
        "jane@home.example",
        "j.doe@work.example",
        org_id=ids["acme"],
        passwd="$2y$10$abcdefghijklmnopqrstuv",
        timezone="Asia/Tokyo",
    )
    ids["sam"] = db.user("Sam", "sam@example.org")
    ids["ticket"], ids["thread"] = db.ticket(
        ids["jane"],
        "Printer on fire",
        number="482913",
        staff_id=ids["alex"],
        team_id=ids["team"],
        topic_id=ids["subtopic"],
        sla_id=ids["sla"],
        isanswered=1,
        duedate=T0 + dt.timedelta(days=2),
        est_duedate=T0 + dt.timedelta(hours=18),
        serial="SN-42",
        priority="high",
    )
    db.entry(
        ids["thread"],
        "<p>It is <b>on fire</b>.</p>",
        user_id=ids["jane"],
        poster="Jane Doe",
        mid="<first@acme.example>",
        headers="Received: by mx\nSubject: Printer on fire",
        flags=0x1,
    )
    ids["reply"] = db.entry(
        ids["thread"],
        "We are on it.",
        type="R",
        format="text",
        staff_id=ids["alex"],
        poster="Alex Agent",
        created=T0 + dt.timedelta(hours=1),
    )
    db.entry(
        ids["thread"],
        "<p>Check the toner</p>",
        type="N",
        staff_id=ids["bea"],
        created=T0 + dt.timedelta(hours=2),
    )
    db.insert(
        "thread_collaborator",
        thread_id=ids["thread"],
        user_id=ids["sam"],
        flags=0x3,
        role="M",
        created=T0,
        updated=T0,
    )
    db.insert(
        "thread_referral",
        thread_id=ids["thread"],
        object_id=ids["billing"],
        object_type="D",
        created=T0,
    )
    db.event(ids["thread"], "created", timestamp=T0)
    db.event(
        ids["thread"],
        "assigned",
        staff_id=ids["alex"],
        username="alex",
        data={"staff": [ids["alex"], "Alex Agent"]},
        timestamp=T0 + dt.timedelta(minutes=5),
    )
    db.event(ids["thread"], "viewed", staff_id=ids["alex"], username="alex")
    closed, closed_thread = db.ticket(ids["sam"], "Old question", number="100200", status="Closed")
    db.entry(closed_thread, "<p>Answered long ago</p>", user_id=ids["sam"])
    ids["closed"] = closed
    return db
