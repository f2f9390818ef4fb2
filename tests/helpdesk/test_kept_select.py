"""accounts.compiled.KeptSelect: a SELECT compiled once and run again with other values
returns what its queryset returns, and keeps nothing it cannot keep."""

import itertools

import pytest
from django.db import connection
from django.db.models import Prefetch
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.compiled import KeptSelect
from threads.models import ThreadEntry
from tickets.models import Ticket

from ..factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(cast):
    return [
        open_ticket(cast.alice, department=cast.dept_a, subject="One"),
        open_ticket(cast.bob, department=cast.dept_b, subject="Two"),
        open_ticket(cast.alice, department=cast.dept_b, subject="Three"),
    ]


@pytest.fixture
def compiles(monkeypatch):
    """[number of SELECTs compiled] while the test runs."""
    count = [0]
    original = SQLCompiler.as_sql

    def as_sql(self, *args, **kwargs):
        count[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", as_sql)
    return count


def _of_requester(requester_id):
    return (
        Ticket.objects.filter(requester_id=requester_id)
        .select_related("requester", "department")
        .order_by("pk")
    )


def test_the_rows_are_the_querysets_and_compiled_once(cast, tickets, compiles):
    kept = KeptSelect(_of_requester)
    for requester in (cast.alice, cast.bob, cast.stranger, cast.alice):
        expected = list(_of_requester(requester.pk))
        compiles[0] = 0
        with CaptureQueriesContext(connection) as statements:
            rows = kept(requester_id=requester.pk)
        assert rows == expected and [r.subject for r in rows] == [e.subject for e in expected]
        assert len(statements) == 1
        with CaptureQueriesContext(connection) as more:  # joined rows came with them
            assert [(r.requester.email, r.department.name) for r in rows] == [
                (e.requester.email, e.department.name) for e in expected
            ]
        assert len(more) == 0
    assert kept.kept(requester_id=cast.alice.pk)
    compiles[0] = 0
    kept(requester_id=cast.bob.pk)
    assert compiles[0] == 0  # the statement is not compiled again


def test_values_and_prefetches_as_the_queryset_gives_them(cast, tickets):
    def numbers(department_id):
        return (
            Ticket.objects.filter(department_id=department_id)
            .order_by("pk")
            .values_list("number", flat=True)
        )

    def entries(thread_id):
        return ThreadEntry.objects.filter(thread_id=thread_id).prefetch_related(Prefetch("poster"))

    kept_numbers, kept_entries = KeptSelect(numbers), KeptSelect(entries)
    for department in (cast.dept_a, cast.dept_b, cast.dept_a):
        assert kept_numbers(department_id=department.pk) == list(numbers(department.pk))
    for ticket in tickets:
        rows = kept_entries(thread_id=ticket.thread_id)
        assert rows == list(entries(ticket.thread_id)) and rows
        with CaptureQueriesContext(connection) as more:
            assert [e.poster.email for e in rows] == [ticket.requester.email]
        assert len(more) == 0


def test_a_shape_is_part_of_the_statement(cast, tickets):
    def of_department(state, department_id):
        return Ticket.objects.filter(state=state, department_id=department_id).order_by("pk")

    kept = KeptSelect(of_department)
    for state, department in itertools.product(("open", "closed"), (cast.dept_a, cast.dept_b)):
        assert kept(state, department_id=department.pk) == list(of_department(state, department.pk))
    assert kept.kept("open", department_id=1) and kept.kept("closed", department_id=1)


def test_a_statement_changing_with_anything_else_is_not_kept(cast, tickets, compiles):
    def since(department_id):  # the time: a parameter of its own on each compile
        return Ticket.objects.filter(department_id=department_id, created_at__lte=timezone.now())

    def subject_has(word):  # the value transformed (%word%): not where a value goes
        return Ticket.objects.filter(subject__icontains=word).order_by("pk")

    def unused(department_id):
        return Ticket.objects.order_by("pk")

    for build, values in (
        (since, {"department_id": cast.dept_a.pk}),
        (subject_has, {"word": "t"}),
        (unused, {"department_id": cast.dept_a.pk}),
    ):
        kept = KeptSelect(build)
        assert kept(**values) == list(build(**values))
        assert not kept.kept(**values)
        compiles[0] = 0
        assert kept(**values) == list(build(**values))
        assert compiles[0] == 2  # the ORM's statement each time (and the comparison's)


def test_other_values_are_compiled_each_time(cast, tickets):
    def assigned(assignee_id):
        return Ticket.objects.filter(assignee_id=assignee_id).order_by("pk")

    kept = KeptSelect(assigned)
    assert kept(assignee_id=None) == list(Ticket.objects.filter(assignee=None).order_by("pk"))
    assert not kept.kept(assignee_id=None)
    assert kept(assignee_id=cast.agent_a.pk) == []
    assert kept.kept(assignee_id=cast.agent_a.pk)  # ints are kept all the same


def test_a_string_value_is_kept(tickets):
    def by_number(number):
        return Ticket.objects.filter(number=number)

    kept = KeptSelect(by_number)
    for ticket in tickets:
        assert kept(number=ticket.number) == [ticket]
    assert kept(number="nope") == []
    assert kept.kept(number="x")


def test_the_oldest_shapes_are_dropped(cast, tickets):
    kept = KeptSelect(
        lambda state, department_id: Ticket.objects.filter(
            state=state, department_id=department_id
        ),
        shapes=2,
    )
    for state in ("open", "closed", "archived"):
        kept(state, department_id=cast.dept_a.pk)
    assert not kept.kept("open", department_id=1)
    assert kept.kept("closed", department_id=1) and kept.kept("archived", department_id=1)


def test_the_least_recently_used_shape_is_dropped(cast, tickets):
    kept = KeptSelect(
        lambda state, department_id: Ticket.objects.filter(
            state=state, department_id=department_id
        ),
        shapes=2,
    )
    kept("open", department_id=cast.dept_a.pk)
    kept("closed", department_id=cast.dept_a.pk)
    kept("open", department_id=cast.dept_b.pk)  # used again: kept
    kept("archived", department_id=cast.dept_a.pk)
    assert kept.kept("open", department_id=1) and kept.kept("archived", department_id=1)
    assert not kept.kept("closed", department_id=1)


def test_values_used_otherwise_than_given_are_not_kept(cast, tickets):
    """A date taken from a time, a key shifted, a string where a number goes: each is
    compiled every time (the ORM's answer, or its refusal), never a kept statement."""
    first = tickets[0]

    def same_day(now):
        return Ticket.objects.filter(created_at__lte=now, created_at__date=now.date())

    def shifted(after, department_id):
        return (
            Ticket.objects.filter(pk__gt=after - 7, department_id=department_id)
            .exclude(pk=after)
            .order_by("pk")
        )

    def by_urgency(urgency):
        return Ticket.objects.filter(priority__urgency__lte=urgency).order_by("pk")

    now = timezone.now()
    kept = KeptSelect(same_day)
    assert kept(now=now) == list(same_day(now)) and not kept.kept(now=now)
    kept = KeptSelect(shifted)
    values = {"after": first.pk, "department_id": cast.dept_a.pk}
    assert kept(**values) == list(shifted(**values)) and not kept.kept(**values)
    kept = KeptSelect(by_urgency)
    assert kept(urgency="3") == list(by_urgency("3")) and not kept.kept(urgency="3")
    with pytest.raises(ValueError):  # the ORM's refusal, as without KeptSelect
        kept(urgency="abc")


def test_the_values_order_in_a_call_does_not_matter(cast, tickets, compiles):
    def of(state, department_id, requester_id):
        return Ticket.objects.filter(
            state=state, department_id=department_id, requester_id=requester_id
        ).order_by("pk")

    kept = KeptSelect(of)
    a = kept("open", department_id=cast.dept_b.pk, requester_id=cast.alice.pk)
    compiles[0] = 0
    b = kept("open", requester_id=cast.alice.pk, department_id=cast.dept_b.pk)
    assert a == b == list(of("open", cast.dept_b.pk, cast.alice.pk)) and a
    assert compiles[0] == 1  # the ORM's statement compared above; none for the kept one
    assert kept.kept("open", requester_id=1, department_id=1)
