import pytest

from tickets.models import HelpdeskSettings, TicketSequence
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
