"""Our PostgreSQL engine (config/postgresql): timestamps read by psycopg's own loader (its
C version), not by Django's Python one, and read exactly as Django's loader reads them."""

import datetime as dt
import zoneinfo

import psycopg
import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test import override_settings
from psycopg.pq import Format

from tests.factories import ClientFactory, DepartmentFactory, open_ticket
from tickets.models import Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid
VALUES = [
    dt.datetime(2026, 12, 7, 5, 3, 19, 247723, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(2000, 2, 29, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
]


def _read(cursor) -> list[dt.datetime]:
    cursor.execute(
        "SELECT v FROM unnest(%s::timestamptz[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
        [VALUES],
    )
    return [row[0] for row in cursor.fetchall()]


def test_the_connection_reads_timestamps_with_psycopgs_own_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    psycopgs = psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert loader is psycopgs and not loader.__module__.startswith("django")
    if psycopg.pq.__impl__ in ("c", "binary"):  # psycopg[binary], as pyproject.toml asks
        assert loader.__module__.startswith(("psycopg_binary", "psycopg_c"))


def test_timestamps_read_as_djangos_loader_reads_them():
    with connection.cursor() as cursor:
        ours = _read(cursor)
    raw = connection.connection.cursor()
    register_tzloader(connection.timezone, raw)  # Django's loader, on this cursor only
    djangos = _read(raw)
    assert ours == djangos == VALUES  # the same instants
    for mine, theirs in zip(ours, djangos, strict=True):
        assert mine.tzinfo is theirs.tzinfo is dt.UTC  # and the same zone object
        assert (mine.isoformat(), mine.microsecond) == (theirs.isoformat(), theirs.microsecond)


def test_a_models_datetimes_come_back_aware_and_equal():
    ticket = open_ticket(ClientFactory(), department=DepartmentFactory(), subject="When")
    due = dt.datetime(2027, 1, 2, 3, 4, 5, 678901, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    Ticket.objects.filter(pk=ticket.pk).update(due_at=due)
    read = Ticket.objects.get(pk=ticket.pk)
    assert read.due_at == due and read.due_at.tzinfo is dt.UTC
    assert read.created_at.tzinfo is dt.UTC


def test_a_server_side_cursor_reads_them_alike():
    first = open_ticket(ClientFactory(), department=DepartmentFactory(), subject="One")
    read = [t.created_at for t in Ticket.objects.filter(pk=first.pk).iterator(chunk_size=10)]
    assert read == [first.created_at] and read[0].tzinfo is dt.UTC


def test_without_time_zone_support_datetimes_are_naive_as_djangos():
    with override_settings(USE_TZ=False), connection.cursor() as cursor:
        read = _read(cursor)
    assert all(value.tzinfo is None for value in read)
    assert read[0] == dt.datetime(2026, 12, 7, 5, 3, 19, 247723)


def test_infinity_is_refused_as_django_refuses_it():
    with connection.cursor() as cursor, pytest.raises(DataError):
        cursor.execute("SELECT 'infinity'::timestamptz")
        cursor.fetchone()
