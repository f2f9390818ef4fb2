"""Prepared statements on PostgreSQL (config/settings.py, `server_side_options`): psycopg
prepares a statement once a connection has run it DATABASE_PREPARE_THRESHOLD times, so
PostgreSQL stops parsing (and, with a generic plan, planning) it on every call;
DATABASE_SERVER_SIDE_BINDING=false (a transaction-mode pooler) turns both off."""

import json

import pytest
from django.db import connection

from ..helpdesk.test_deploy import python

pytestmark = pytest.mark.django_db

SHOW = (
    "import django, json; django.setup(); from django.conf import settings; "
    "o = settings.DATABASES['default']['OPTIONS']; "
    "print(json.dumps({k: o.get(k) for k in ('server_side_binding', 'prepare_threshold')}))"
)


def options(tmp_path, **variables) -> dict:
    run = python(
        tmp_path,
        "-c",
        SHOW,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/helpdesk",  # read, never connected
        **variables,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_the_threshold_follows_the_binding_setting(tmp_path):
    assert options(tmp_path) == {"server_side_binding": True, "prepare_threshold": 5}
    assert options(tmp_path, DATABASE_PREPARE_THRESHOLD="2") == {
        "server_side_binding": True,
        "prepare_threshold": 2,
    }
    assert options(tmp_path, DATABASE_PREPARE_THRESHOLD="off") == {
        "server_side_binding": True,
        "prepare_threshold": None,
    }
    assert options(tmp_path, DATABASE_SERVER_SIDE_BINDING="false") == {
        "server_side_binding": False,
        "prepare_threshold": None,
    }


def test_a_bad_threshold_stops_the_start_with_a_clear_error(tmp_path):
    run = python(
        tmp_path,
        "-c",
        SHOW,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/helpdesk",
        DATABASE_PREPARE_THRESHOLD="often",
    )
    assert run.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD must be a number of executions or off" in run.stderr


@pytest.mark.postgres
def test_a_repeated_statement_is_prepared_on_the_connection():
    sql = "SELECT id FROM tickets_ticket WHERE number = %s  -- test_prepared"
    threshold = connection.settings_dict["OPTIONS"].get("prepare_threshold")
    assert threshold is not None, "the project's settings prepare nothing"

    def prepared() -> int:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%-- test_prepared"],
            )
            return cur.fetchone()[0]

    with connection.cursor() as cur:
        for i in range(threshold):
            cur.execute(sql, [f"N{i}"])
    assert prepared() == 0  # not yet: run `threshold` times, prepared on the next
    with connection.cursor() as cur:
        cur.execute(sql, ["again"])
        assert cur.fetchall() == []
    assert prepared() == 1
