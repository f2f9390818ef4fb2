"""Business-hours arithmetic: when is a ticket due?

`add_business_hours(start, hours, schedule)` counts `hours` of open time from `start`
over the schedule's weekly hours in its own time zone, skipping holidays. Durations are
measured in real (UTC) time, so a business day that crosses a daylight-saving change
counts the hours that actually passed. Without a schedule the clock runs around the
clock. All inputs and outputs are aware datetimes; outputs are in UTC.
"""

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

from .models import SLA, Schedule

log = logging.getLogger(__name__)
UTC = dt.UTC
MAX_DAYS = 3 * 366  # a schedule that opens less than this is treated as misconfigured


@dataclass(frozen=True)
class Calendar:
    """A schedule loaded once: weekday -> [(start, end)], holidays, time zone."""

    tz: zoneinfo.ZoneInfo
    week: dict[int, list[tuple[dt.time, dt.time]]]
    holidays: tuple[tuple[dt.date, dt.date], ...]

    @classmethod
    def load(cls, schedule: Schedule) -> "Calendar":
        week: dict[int, list[tuple[dt.time, dt.time]]] = {d: [] for d in range(7)}
        for h in schedule.hours.all():
            week[h.weekday].append((h.start_time, h.end_time))
        for intervals in week.values():
            intervals.sort()
        holidays = tuple((h.start_date, h.end_date) for h in schedule.holidays.all())
        return cls(tz=zoneinfo.ZoneInfo(schedule.timezone), week=week, holidays=holidays)

    def is_holiday(self, day: dt.date) -> bool:
        return any(start <= day <= end for start, end in self.holidays)

    def open_intervals(self, day: dt.date) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Open intervals of a local day as (start, end) UTC datetimes."""
        if self.is_holiday(day):
            return
        for start, end in self.week[day.weekday()]:
            local_start = dt.datetime.combine(day, start, tzinfo=self.tz)
            if end == dt.time(0, 0):
                local_end = dt.datetime.combine(day + dt.timedelta(days=1), end, tzinfo=self.tz)
            else:
                local_end = dt.datetime.combine(day, end, tzinfo=self.tz)
            yield local_start.astimezone(UTC), local_end.astimezone(UTC)


def add_business_hours(start: dt.datetime, hours: float, schedule: Schedule | None) -> dt.datetime:
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    start = start.astimezone(UTC)
    remaining = dt.timedelta(hours=hours)
    if schedule is None:
        return start + remaining
    cal = Calendar.load(schedule)
    if not any(cal.week.values()):
        log.warning("Schedule %s has no opening hours; counting wall-clock hours.", schedule)
        return start + remaining
    day = start.astimezone(cal.tz).date() - dt.timedelta(days=1)  # an interval may span midnight
    for _ in range(MAX_DAYS):
        for open_at, close_at in cal.open_intervals(day):
            if close_at <= start:
                continue
            begin = max(open_at, start)
            available = close_at - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += dt.timedelta(days=1)
    log.warning("Schedule %s opens too rarely; counting wall-clock hours.", schedule)
    return start + dt.timedelta(hours=hours)


def business_time_between(
    start: dt.datetime, end: dt.datetime, schedule: Schedule | None
) -> dt.timedelta:
    """Open time between two instants (zero if end <= start); wall-clock without a schedule."""
    if end <= start:
        return dt.timedelta(0)
    if schedule is None:
        return end - start
    cal = Calendar.load(schedule)
    if not any(cal.week.values()):
        return end - start
    total = dt.timedelta(0)
    day = start.astimezone(cal.tz).date() - dt.timedelta(days=1)
    last = end.astimezone(cal.tz).date()
    while day <= last:
        for open_at, close_at in cal.open_intervals(day):
            overlap = min(close_at, end) - max(open_at, start)
            if overlap > dt.timedelta(0):
                total += overlap
        day += dt.timedelta(days=1)
    return total


def resume_due_at(
    *, due_at: dt.datetime | None, paused_at: dt.datetime, now: dt.datetime, sla: SLA | None
) -> dt.datetime | None:
    """The due date after a pause: the open time that was left when the clock stopped
    now runs from `now` (a pause after the due date leaves nothing to add)."""
    if due_at is None or sla is None:
        return due_at
    remaining = business_time_between(paused_at, due_at, sla.schedule)
    if remaining <= dt.timedelta(0):
        return due_at
    return add_business_hours(now, remaining.total_seconds() / 3600, sla.schedule)


def sla_due_at(start: dt.datetime, sla: SLA | None) -> dt.datetime | None:
    """Due date of an SLA whose clock started at `start` (None without an SLA)."""
    if sla is None:
        return None
    return add_business_hours(start, sla.grace_hours, sla.schedule)
