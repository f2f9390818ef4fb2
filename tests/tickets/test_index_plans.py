"""The partial indexes serve the queries they are for (issue 19's storage, tickets 0018
and threads 0011): PostgreSQL must prove a query's condition implies the index's, or it
falls back to reading the table. With sequential scans off (the test tables are too small
to need an index), each plan names its index."""

import pytest
from django.db import connection, transaction

from helpdesk.mail.matching import received_ids
from threads.models import ThreadEntry
from tickets.models import State, Ticket

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]


def plan_of(queryset) -> str:
    """The plan where the index is the only cheap way: sequential scans and sorts off,
    so the test's tiny table (whose statistics an earlier test may have gathered) does
    not make any other index plus a sort look as cheap."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_sort = off")
        return queryset.explain()


def newest(state: str):
    return Ticket.objects.filter(state=state).order_by("-updated_at", "-id")[:50]


@pytest.mark.parametrize("state", [State.OPEN, State.ARCHIVED, State.DELETED])
def test_a_queue_of_tickets_not_closed_reads_the_partial_state_index(state):
    plan = plan_of(newest(state))
    assert "tickets_state_updated" in plan
    assert "Sort" not in plan  # the index gives the order: no sort of the matches


def test_the_closed_tickets_are_walked_in_recency_order():
    """Closed tickets are not in the state index: their queue walks tickets_updated,
    in the queue's order, and keeps the closed ones."""
    plan = plan_of(newest(State.CLOSED))
    assert "tickets_updated" in plan and "tickets_state_updated" not in plan
    assert "Sort" not in plan


def test_the_api_order_by_creation_of_open_tickets_reads_the_partial_index():
    plan = plan_of(Ticket.objects.filter(state=State.OPEN).order_by("-created_at", "-id")[:50])
    assert "tickets_state_created" in plan


def test_a_message_id_lookup_reads_the_partial_message_id_index():
    """Threading's lookup (a list of Message-IDs, none empty) is proved to fall within
    `message_id <> ''`. (On empty tables the planner may as well filter the thread-time
    index; it is dropped for the plan, in a transaction rolled back.)"""
    queries = []
    with connection.execute_wrapper(
        lambda ex, sql, params, *a: queries.append((sql, params)) or ex(sql, params, *a)
    ):
        received_ids(["<a@example.com>", "<b@example.com>"])
    sql, params = queries[0]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("DROP INDEX threads_entry_thread_time")
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
        transaction.set_rollback(True)
    assert "threads_entry_message_id" in plan


def test_the_message_id_index_leaves_out_entries_without_one():
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_indexdef('threads_entry_message_id'::regclass)")
        definition = cur.fetchone()[0]
    assert "WHERE" in definition and "''" in definition
    assert ThreadEntry._meta.get_field("message_id").db_index is False
