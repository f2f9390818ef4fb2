"""Prepared statements on PostgreSQL (config/settings.py, `server_side_options`): off by
default; DATABASE_PREPARE_THRESHOLD=N has psycopg prepare a statement once a connection
has run it N times; DATABASE_SERVER_SIDE_BINDING=false (a transaction-mode pooler)
turns binding and preparing off together."""

import json
import uuid

import pytest
from django.db import connection

from ..helpdesk.test_deploy import python

SHOW = (
    "import django, json; django.setup(); from django.conf import settings; "
    "o = settings.DATABASES['default']['OPTIONS']; "
    "print(json.dumps({k: o.get(k) for k in ('server_side_binding', 'prepare_threshold')}))"
)


def run_settings(tmp_path, **variables):
    return python(
        tmp_path,
        "-c",
        SHOW,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/helpdesk",  # read, never connected
        **variables,
    )


def options(tmp_path, **variables) -> dict:
    run = run_settings(tmp_path, **variables)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_preparing_is_off_unless_asked_and_follows_the_binding_setting(tmp_path):
    assert options(tmp_path) == {"server_side_binding": True, "prepare_threshold": None}
    assert options(tmp_path, DATABASE_PREPARE_THRESHOLD="5") == {
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    assert options(tmp_path, DATABASE_PREPARE_THRESHOLD="off") == {
        "server_side_binding": True,
        "prepare_threshold": None,
    }
    assert options(
        tmp_path, DATABASE_SERVER_SIDE_BINDING="false", DATABASE_PREPARE_THRESHOLD="5"
    ) == {"server_side_binding": False, "prepare_threshold": None}


@pytest.mark.parametrize("value", ["often", "²", "-1"])
def test_a_bad_threshold_stops_the_start_with_a_clear_error(tmp_path, value):
    run = run_settings(tmp_path, DATABASE_PREPARE_THRESHOLD=value)
    assert run.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD must be a number of executions or off" in run.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_threshold_reaches_psycopg_and_prepares_a_repeated_statement():
    """The OPTIONS value is psycopg's: with a threshold of 2, a statement run twice on a
    connection is prepared on its third run (a connection of its own, closed after)."""
    token = uuid.uuid4().hex  # a statement this run alone has sent
    sql = f"SELECT id FROM tickets_ticket WHERE number = %s  -- {token}"  # noqa: S608 - a uuid
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("prepare_threshold")
    connection.close()
    options["prepare_threshold"] = 2
    try:

        def prepared() -> int:
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                    [f"%{token}"],
                )
                return cur.fetchone()[0]

        with connection.cursor() as cur:
            for i in range(2):
                cur.execute(sql, [f"N{i}"])
        assert prepared() == 0  # not yet
        with connection.cursor() as cur:
            cur.execute(sql, ["again"])
            assert cur.fetchall() == []
        assert prepared() == 1
    finally:
        connection.close()
        if saved is None:
            options.pop("prepare_threshold", None)
        else:
            options["prepare_threshold"] = saved
