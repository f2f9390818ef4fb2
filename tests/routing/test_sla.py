import datetime as dt

import pytest

from routing.models import Holiday, ScheduleHours
from routing.sla import add_business_hours, sla_due_at

from ..factories import ScheduleFactory, SLAFactory

UTC = dt.UTC


@pytest.fixture
def office(db):
    """Mon-Fri 09:00-17:00 in London, closed on 25-26 December."""
    schedule = ScheduleFactory(timezone="Europe/London")
    for day in range(5):
        ScheduleHours.objects.create(
            schedule=schedule, weekday=day, start_time=dt.time(9), end_time=dt.time(17)
        )
    Holiday.objects.create(
        schedule=schedule,
        name="Christmas",
        start_date=dt.date(2026, 12, 25),
        end_date=dt.date(2026, 12, 26),
    )
    return schedule


def at(*args, tz=UTC):
    return dt.datetime(*args, tzinfo=tz)


def test_without_a_schedule_the_clock_runs_around_the_clock(db):
    assert add_business_hours(at(2026, 1, 3, 22), 5, None) == at(2026, 1, 4, 3)


def test_hours_inside_one_business_day(office):
    # Monday 2 March 2026, London = UTC in winter
    assert add_business_hours(at(2026, 3, 2, 10), 3, office) == at(2026, 3, 2, 13)


def test_before_opening_the_clock_starts_at_opening(office):
    assert add_business_hours(at(2026, 3, 2, 6), 1, office) == at(2026, 3, 2, 10)


def test_the_weekend_is_skipped(office):
    # Friday 6 March 16:00 + 3 h = 1 h Friday + 2 h Monday
    assert add_business_hours(at(2026, 3, 6, 16), 3, office) == at(2026, 3, 9, 11)


def test_a_start_on_saturday_waits_for_monday(office):
    assert add_business_hours(at(2026, 3, 7, 12), 8, office) == at(2026, 3, 9, 17)


def test_holidays_that_touch_a_weekend_are_skipped(office):
    # Thu 24 Dec 16:00 +2 h: 1 h Thursday; Fri 25 and Sat 26 holiday, Sunday closed -> Mon 10:00
    assert add_business_hours(at(2026, 12, 24, 16), 2, office) == at(2026, 12, 28, 10)


def test_daylight_saving_start_moves_opening_hours_in_utc(office):
    # London springs forward on Sunday 29 March 2026: Monday 09:00 BST is 08:00 UTC
    assert add_business_hours(at(2026, 3, 27, 16), 2, office) == at(2026, 3, 30, 9)


def test_daylight_saving_end(office):
    # Clocks go back on Sunday 25 October 2026. Friday 15:00 UTC is 16:00 BST: 1 h left
    # that day; Monday opens at 09:00 GMT = 09:00 UTC, and 2 h more end at 11:00 UTC.
    assert add_business_hours(at(2026, 10, 23, 15), 3, office) == at(2026, 10, 26, 11)


def test_a_night_shift_across_midnight(db):
    night = ScheduleFactory(timezone="UTC")
    ScheduleHours.objects.create(
        schedule=night, weekday=0, start_time=dt.time(22), end_time=dt.time(0)
    )
    ScheduleHours.objects.create(
        schedule=night, weekday=1, start_time=dt.time(0), end_time=dt.time(6)
    )
    # Monday 23:00 + 4 h = 1 h Monday night + 3 h Tuesday morning
    assert add_business_hours(at(2026, 3, 2, 23), 4, night) == at(2026, 3, 3, 3)


def test_a_schedule_without_hours_falls_back_to_the_wall_clock(db):
    empty = ScheduleFactory()
    assert add_business_hours(at(2026, 3, 2, 10), 5, empty) == at(2026, 3, 2, 15)


def test_naive_datetimes_are_refused(office):
    with pytest.raises(ValueError, match=r"^start must be an aware datetime$"):
        add_business_hours(dt.datetime(2026, 3, 2, 10), 1, office)


def test_sla_due_at_uses_the_sla_schedule(office):
    sla = SLAFactory(grace_hours=16, schedule=office)
    assert sla_due_at(at(2026, 3, 2, 9), sla) == at(2026, 3, 3, 17)
    assert sla_due_at(at(2026, 3, 2, 9), None) is None
