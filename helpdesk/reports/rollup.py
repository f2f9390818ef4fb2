"""The daily sums (`DailyStat`) and the report job that keeps them.

`reports_refresh` (cron job `reports_refresh`): the tickets marked by the receivers get
their facts derived again (facts.py); the days those facts fell on, before or after, are
marked; each marked day is summed again from its facts (one grouped statement per day).
Marks are taken and cleared in the same transaction as the work, so a failed run leaves
them for the next one, and a change committed during a run marks its ticket again.
"""

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q, Sum

from .histogram import histogram, merge
from .models import DailyStat, DirtyDay, DirtyTicket, Fact

K = Fact.Kind
G = DailyStat.Grain
# grain -> the fact columns it groups by, and where the grain's key comes from
GRAINS = {
    G.AGENT: (("department_id", "agent_id"), None),
    G.TOPIC: (("department_id", "topic_id"), "topic_id"),
    G.TEAM: (("department_id", "team_id"), "team_id"),
    G.CHANNEL: (("department_id", "agent_id", "channel"), None),
}
# the grains whose histograms are also kept per week
WEEKLY = {G.AGENT: G.AGENT_WEEK, G.TOPIC: G.TOPIC_WEEK, G.TEAM: G.TEAM_WEEK}
TICKETS_PER_RUN = 5000
DAYS_PER_RUN = 400


def _count(kind: str, **extra) -> Count:
    return Count("pk", filter=Q(kind=kind, **extra))


SUMS = {
    "opened": _count(K.OPENED),
    "assigned": _count(K.ASSIGNED),
    "overdue": _count(K.OVERDUE),
    "closed": _count(K.CLOSED),
    "reopened": _count(K.REOPENED),
    "deleted": _count(K.DELETED),
    "responses": _count(K.RESPONSE),
    "timed_responses": _count(K.RESPONSE, seconds__isnull=False),
    "first_responses": _count(K.RESPONSE, first=True),
    "closed_with_due": _count(K.CLOSED, met_sla__isnull=False),
    "closed_in_sla": _count(K.CLOSED, met_sla=True),
    "service_seconds": Sum("seconds", filter=Q(kind=K.CLOSED), default=0),
    "response_seconds": Sum("seconds", filter=Q(kind=K.RESPONSE, seconds__isnull=False), default=0),
    "backlog": Sum("backlog", default=0),
}


def mark_days(days: Iterable[dt.date]) -> None:
    DirtyDay.objects.bulk_create(
        [DirtyDay(day=d) for d in sorted(set(days))], ignore_conflicts=True
    )


def _durations(day: dt.date) -> list[dict]:
    """The day's closes and first responses with their times and every grain's columns."""
    timed = Q(kind=K.CLOSED) | Q(kind=K.RESPONSE, first=True)
    columns = ("kind", "seconds", "department_id", "agent_id", "topic_id", "team_id", "channel")
    return list(Fact.objects.filter(timed, day=day, seconds__isnull=False).values(*columns))


def _histograms(durations: list[dict], columns: tuple[str, ...]) -> dict[tuple, dict]:
    """Per value of `columns`: the histograms of resolution and first response times."""
    found: dict[tuple, dict[str, list[int]]] = defaultdict(lambda: {"closed": [], "response": []})
    for d in durations:
        found[tuple(d[c] for c in columns)][d["kind"]].append(d["seconds"])
    return {
        group: {
            "resolution_hist": histogram(v["closed"]),
            "first_response_hist": histogram(v["response"]),
        }
        for group, v in found.items()
    }


def day_rollup(day: dt.date, *, weeks: bool = True) -> int:
    """Sum one day's facts again at every grain (and its week's histograms, unless
    `weeks` is off): returns how many daily rows the day has."""
    facts = Fact.objects.filter(day=day)
    durations = _durations(day)
    stats = []
    for grain, (columns, key) in GRAINS.items():
        hists = _histograms(durations, columns)
        for row in facts.values(*columns).annotate(**SUMS).order_by():
            row.update(hists.get(tuple(row[c] for c in columns), {}))
            if key is not None:
                row["key"] = row.pop(key)
            stats.append(DailyStat(day=day, grain=grain, **row))
    with transaction.atomic():
        DailyStat.objects.filter(day=day, grain__in=list(GRAINS)).delete()
        DailyStat.objects.bulk_create(stats, batch_size=1000)
    if weeks:
        week_rollup(monday(day))
    return len(stats)


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def week_rollup(first: dt.date) -> int:
    """The week starting on Monday `first`, from its days' rows: the histograms (a long
    report reads one row per week instead of seven) and, per department and agent, the
    backlog's net change (the backlog before a report adds weeks, not days)."""
    days = (first, first + dt.timedelta(days=6))
    merged: dict[tuple, list] = defaultdict(lambda: [Counter(), Counter(), 0])
    rows = DailyStat.objects.filter(grain__in=list(WEEKLY), day__range=days).values_list(
        "grain", "department_id", "agent_id", "key", "resolution_hist", "first_response_hist",
        "backlog",
    )  # fmt: skip
    for grain, dept, agent, key, resolution, first_response, backlog in rows:
        if resolution or first_response or (backlog and grain == G.AGENT):
            into = merged[(WEEKLY[grain], dept, agent, key)]
            merge(into[0], resolution)
            merge(into[1], first_response)
            if grain == G.AGENT:
                into[2] += backlog
    weeks = [
        DailyStat(
            day=first, grain=grain, department_id=dept, agent_id=agent, key=key, backlog=b,
            resolution_hist={str(k): n for k, n in sorted(r.items())},
            first_response_hist={str(k): n for k, n in sorted(f.items())},
        )
        for (grain, dept, agent, key), (r, f, b) in merged.items()
    ]  # fmt: skip
    with transaction.atomic():
        DailyStat.objects.filter(day=first, grain__in=list(WEEKLY.values())).delete()
        DailyStat.objects.bulk_create(weeks, batch_size=1000)
    return len(weeks)


def days_rollup(days: Iterable[dt.date]) -> int:
    """Sum these days again, then the histograms of their weeks."""
    ordered = sorted(set(days))
    count = sum(day_rollup(d, weeks=False) for d in ordered)
    for first in sorted({monday(d) for d in ordered}):
        week_rollup(first)
    return count


def reports_refresh() -> int:
    """The job: marked tickets, then marked days. Returns how many of both it did."""
    from .facts import facts_rebuild

    with transaction.atomic():
        marked = DirtyTicket.objects.select_for_update(skip_locked=True).order_by("ticket_id")
        ids = list(marked.values_list("ticket_id", flat=True)[:TICKETS_PER_RUN])
        if ids:
            facts_rebuild(ids)
            DirtyTicket.objects.filter(ticket_id__in=ids).delete()
    with transaction.atomic():
        marked_days = DirtyDay.objects.select_for_update(skip_locked=True).order_by("day")
        days = list(marked_days.values_list("day", flat=True)[:DAYS_PER_RUN])
        if days:
            days_rollup(days)
            DirtyDay.objects.filter(day__in=days).delete()
    return len(ids) + len(days)


def rebuild_range(start: dt.date, end: dt.date, *, verbose=None) -> tuple[int, int]:
    """Derive again the facts of every ticket with activity between `start` and `end`
    (UTC days, inclusive: opened on or before `end` and not closed before `start`, or
    with facts in the range), then sum every day of the range. For upgrades and the
    bench; (tickets, days)."""
    from tickets.models import Ticket

    from .facts import facts_rebuild

    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    tickets = Ticket.objects.filter(created_at__lt=until, updated_at__gte=since).values_list(
        "pk", flat=True
    )
    ids = set(tickets.iterator(chunk_size=5000))
    ids |= set(Fact.objects.filter(day__range=(start, end)).values_list("ticket_id", flat=True))
    ordered = sorted(ids)
    for i in range(0, len(ordered), 5000):
        facts_rebuild(ordered[i : i + 5000])
        if verbose:
            verbose(f"{min(i + 5000, len(ordered))}/{len(ordered)} tickets")
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    days_rollup(days)
    DirtyDay.objects.filter(day__in=days).delete()
    return len(ordered), len(days)
