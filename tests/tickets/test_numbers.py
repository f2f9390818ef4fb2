import pytest
from django.db import IntegrityError, transaction
from django.db.models.functions import Now

from accounts.rows import RowConflict
from tickets.models import HelpdeskSettings, Ticket, TicketSequence
from tickets.numbers import format_number, next_number, random_number

from ..factories import open_ticket


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        ("######", 42, "000042"),
        ("######", 1234567, "1234567"),
        ("TKT-####", 7, "TKT-0007"),
        ("AB-##-###", 1234567, "AB-12-34567"),
        ("##-##", 305, "03-05"),
        ("#", 0, "0"),
    ],
)
def test_format_number(mask, value, expected):
    assert format_number(mask, value) == expected


def test_random_numbers_keep_the_mask():
    for _ in range(50):
        n = random_number("HD-####-x")
        assert n.startswith("HD-") and n.endswith("-x") and n[3:7].isdigit()


def test_sequence_mode_counts_up(db):
    config = HelpdeskSettings.load()
    config.number_mode, config.number_format = HelpdeskSettings.NumberMode.SEQUENCE, "S####"
    config.save()
    TicketSequence.objects.update_or_create(pk=1, defaults={"next_value": 41})
    assert [next_number(config) for _ in range(3)] == ["S0041", "S0042", "S0043"]


def test_a_random_collision_draws_again(cast, monkeypatch):
    first = open_ticket(cast.alice, department=cast.dept_a)
    draws = iter([first.number, first.number, "424242"])
    monkeypatch.setattr("tickets.services.opening.next_number", lambda config: next(draws))
    second = open_ticket(cast.alice, department=cast.dept_a)
    assert second.number == "424242"


@pytest.mark.parametrize("mask", ["######", "#", "HD-##-###", "##-##"])
def test_random_numbers_never_start_with_0(mask):
    """osTicket's never do, and its sample API client casts the number to an int: the
    digits must read as the same integer. 3,000 draws: a 0 in the first place would come
    up about 300 times if it could."""
    first = mask.index("#")
    draws = [random_number(mask) for _ in range(3000)]

    assert all(len(n) == len(mask) for n in draws)
    assert {n[first] for n in draws} == set("123456789")  # every other first digit comes
    digits = ["".join(ch for ch in n if ch.isdigit()) for n in draws]
    assert all(str(int(d)) == d for d in digits)
    if mask.count("#") > 1:  # the other places still take a 0
        assert any("0" in d[1:] for d in digits)


def test_a_taken_number_is_skipped_without_a_savepoint_or_an_error_in_the_database(
    cast, monkeypatch
):
    """The INSERT says ON CONFLICT (number) DO NOTHING: a clash returns no row
    (accounts.rows.RowConflict), nothing fails in PostgreSQL, and the opening goes on in
    its transaction without a savepoint per draw."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = open_ticket(cast.alice, department=cast.dept_a)
    draws = iter([first.number, first.number, "515151"])
    monkeypatch.setattr("tickets.services.opening.next_number", lambda config: next(draws))
    with CaptureQueriesContext(connection) as queries:
        second = open_ticket(cast.alice, department=cast.dept_a)
    sql = [q["sql"] for q in queries.captured_queries]
    inserts = [i for i, s in enumerate(sql) if s.startswith('INSERT INTO "tickets_ticket"')]
    assert len(inserts) == 3 and all("ON CONFLICT" in sql[i] for i in inserts)
    assert not any(sql[i - 1].startswith("SAVEPOINT") for i in inserts)
    assert second.number == "515151"
    second.refresh_from_db()  # all of it written: thread, first message, events
    assert second.thread.entries.count() == 1
    assert Ticket.objects.filter(number=first.number).get() == first


def test_another_unique_clash_is_still_an_error(cast):
    """Only the number is skipped: a ticket on a thread another ticket has (a one-to-one)
    fails as before, and no number is drawn again for it."""
    first = open_ticket(cast.alice, department=cast.dept_a)
    clash = Ticket.objects.get(pk=first.pk)
    clash.pk, clash.number = None, "626262"
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        clash.save(force_insert=True)
    assert not isinstance(raised.value, RowConflict)
    assert not Ticket.objects.filter(number="626262").exists()


def test_an_insert_the_orm_compiles_skips_a_taken_number_the_same_way(cast):
    """A value that is an expression makes the ORM write the INSERT: a savepoint then
    holds the clash, and the caller sees the same RowConflict, its transaction usable."""
    first = open_ticket(cast.alice, department=cast.dept_a)
    other = open_ticket(cast.alice, department=cast.dept_a)
    clash = Ticket.objects.get(pk=other.pk)
    other.delete()
    clash.pk, clash.number, clash.updated_at = None, first.number, Now()
    with transaction.atomic():
        with pytest.raises(RowConflict, match="is taken"):
            clash.save(force_insert=True)
        transaction.set_rollback(False)
        assert Ticket.objects.filter(number=first.number).count() == 1  # still usable
