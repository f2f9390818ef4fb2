"""The report (/scp/reports/): osTicket's figures and more, read from the daily sums
and the facts (models.py), never from the tickets.

Who sees what: only the departments the viewer may see (helpdesk admins: all), and
without `stats.agents` only their own figures (the agent dimension, their row). A
constant number of statements whatever the period or the number of rows: the table,
two percentile queries, the time series, the backlog before the period, the channels,
the replies per agent, and the names of what the rows are about.
"""

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, Q, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils.translation import gettext as _

from accounts import permissions as perms
from accounts.models import User
from routing.models import Department, HelpTopic, Team
from tickets.models import Ticket

from .histogram import percentile
from .models import DailyStat, Fact
from .percentile import Percentile

G = DailyStat.Grain
# dimension -> (the sums' grain, its column there, the facts' column, what it names)
DIMENSIONS = {
    "department": (G.AGENT, "department_id", "department_id", Department),
    "topic": (G.TOPIC, "key", "topic_id", HelpTopic),
    "agent": (G.AGENT, "agent_id", "agent_id", User),
    "team": (G.TEAM, "key", "team_id", Team),
}
GRANULARITIES = ("day", "week", "month")
WEEKS = {G.AGENT: G.AGENT_WEEK, G.TOPIC: G.TOPIC_WEEK, G.TEAM: G.TEAM_WEEK}
# Percentiles are exact (the facts sorted by the database) up to this many closes and
# first responses in the report, read from the daily histograms beyond.
EXACT_LIMIT = 20_000
COUNTS = (
    "opened",
    "assigned",
    "overdue",
    "closed",
    "reopened",
    "deleted",
    "responses",
    "timed_responses",
    "first_responses",
    "closed_with_due",
    "closed_in_sla",
    "service_seconds",
    "response_seconds",
    "backlog",
)


@dataclass(frozen=True)
class Params:
    start: dt.date
    end: dt.date
    granularity: str = "day"
    dimension: str = "department"
    department_id: int | None = None


@dataclass
class Row:
    key: int | None
    label: str
    opened: int = 0
    assigned: int = 0
    overdue: int = 0
    closed: int = 0
    reopened: int = 0
    deleted: int = 0
    responses: int = 0
    timed_responses: int = 0
    first_responses: int = 0
    closed_with_due: int = 0
    closed_in_sla: int = 0
    service_seconds: int = 0
    response_seconds: int = 0
    backlog: int = 0
    resolution_p50: float | None = None
    resolution_p90: float | None = None
    first_response_p50: float | None = None
    first_response_p90: float | None = None
    approximate: bool = False  # percentiles from histograms (within 5 %)

    @property
    def service_time(self) -> float | None:
        """Average resolution time, seconds (osTicket's service time)."""
        return self.service_seconds / self.closed if self.closed else None

    @property
    def response_time(self) -> float | None:
        """Average time from a client message to the response, seconds."""
        return self.response_seconds / self.timed_responses if self.timed_responses else None

    @property
    def sla_compliance(self) -> float | None:
        """Share of the closes with a due date that closed by it, 0..1."""
        return self.closed_in_sla / self.closed_with_due if self.closed_with_due else None


@dataclass
class Report:
    params: Params
    dimension: str
    rows: list[Row]
    series: list[dict] = field(default_factory=list)  # bucket, opened, closed, backlog
    channels: list[dict] = field(default_factory=list)  # channel, label, opened
    replies: list[dict] = field(default_factory=list)  # agent, label, responses
    own_only: bool = False

    @property
    def approximate(self) -> bool:
        return any(r.approximate for r in self.rows)


def may_see_agents(viewer: User) -> bool:
    return perms.has_agent_perm(viewer, "stats.agents")


def scope(viewer: User, params: Params) -> Q:
    """The facts and sums the viewer may see, narrowed by the report's department."""
    q = Q()
    if not viewer.is_helpdesk_admin:
        q &= Q(department_id__in=sorted(perms.department_ids(viewer)))
    if params.department_id is not None:
        q &= Q(department_id=params.department_id)
    if not may_see_agents(viewer):
        q &= Q(agent_id=viewer.pk)
    return q


def _labels(model, ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    if model is User:
        return {u.pk: u.display_name for u in User.objects.filter(pk__in=ids)}
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


def _rows(where: Q, params: Params, dimension: str) -> list[Row]:
    grain, column, fact_column, model = DIMENSIONS[dimension]
    period = Q(day__range=(params.start, params.end))
    sums = (
        DailyStat.objects.filter(period, where, grain=grain)
        .values(column)
        .annotate(**{c: Sum(c) for c in COUNTS})
        .order_by()
    )
    rows = {s[column]: Row(key=s[column], label="", **{c: s[c] for c in COUNTS}) for s in sums}
    samples = sum(r.closed + r.first_responses for r in rows.values())
    if samples <= EXACT_LIMIT:
        _exact_percentiles(rows, Q(period, where), fact_column)
    else:
        _histogram_percentiles(rows, Q(where) & histogram_days(params, grain), column)
    names = _labels(model, rows)
    for key, row in rows.items():
        row.label = names.get(key, _("(none)") if key is None else f"#{key}")
    return sorted(rows.values(), key=lambda r: (r.key is None, r.label.lower()))


def histogram_days(params: Params, grain: str) -> Q:
    """The rows whose histograms cover the period: the full weeks' own rows (Monday to
    Sunday), the days' rows for the days before and after them."""
    start, end = params.start, params.end
    first = start + dt.timedelta(days=(7 - start.weekday()) % 7)  # first Monday
    last = end - dt.timedelta(days=(end.weekday() + 1) % 7)  # last Sunday
    if first + dt.timedelta(days=6) > last:
        return Q(grain=grain, day__range=(start, end))
    return (
        Q(grain=grain, day__gte=start, day__lt=first)
        | Q(grain=WEEKS[grain], day__range=(first, last - dt.timedelta(days=6)))
        | Q(grain=grain, day__gt=last, day__lte=end)
    )


def _exact_percentiles(rows: dict, where: Q, column: str) -> None:
    """From the facts themselves (sorted by the database): exact."""
    for kind, name, extra in (
        (Fact.Kind.CLOSED, "resolution", {}),
        (Fact.Kind.RESPONSE, "first_response", {"first": True}),
    ):
        pct = (
            Fact.objects.filter(where, kind=kind, seconds__isnull=False, **extra)
            .values(column)
            .annotate(p50=Percentile("seconds", 0.5), p90=Percentile("seconds", 0.9))
            .order_by()
        )
        for p in pct:
            row = rows.setdefault(p[column], Row(key=p[column], label=""))
            setattr(row, f"{name}_p50", p["p50"])
            setattr(row, f"{name}_p90", p["p90"])


def _histogram_percentiles(rows: dict, where: Q, column: str) -> None:
    """From the days' histograms (histogram.py): within 5 %, at a cost that does not grow
    with the number of tickets. The database adds the histograms up (bucket by bucket,
    per row of the report); only the sums come back."""
    for name, field_name in (
        ("resolution", "resolution_hist"),
        ("first_response", "first_response_hist"),
    ):
        for key, hist in _histogram_sums(where, column, field_name).items():
            row = rows.setdefault(key, Row(key=key, label=""))
            row.approximate = True
            setattr(row, f"{name}_p50", percentile(hist, 0.5))
            setattr(row, f"{name}_p90", percentile(hist, 0.9))


def _histogram_sums(where: Q, column: str, field_name: str) -> dict:
    inner = (
        DailyStat.objects.filter(where)
        .exclude(**{field_name: {}})
        .values(k=F(column), hist=F(field_name))
        .order_by()
    )
    sql, params = inner.query.sql_with_params()
    each = "jsonb_each_text" if connection.vendor == "postgresql" else "json_each"
    outer = (
        f"SELECT s.k, h.key, SUM(CAST(h.value AS INTEGER)) FROM ({sql}) s "  # noqa: S608
        f"CROSS JOIN {each}(s.hist) h GROUP BY s.k, h.key"
    )
    sums: dict = defaultdict(Counter)
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        for key, b, n in cursor.fetchall():
            sums[key][int(b)] += n
    return sums


def _series(where: Q, params: Params) -> list[dict]:
    trunc = {"week": TruncWeek("day"), "month": TruncMonth("day")}.get(params.granularity)
    bucket = trunc if trunc is not None else F("day")
    sums = (
        DailyStat.objects.filter(where, grain=G.AGENT, day__range=(params.start, params.end))
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(opened=Sum("opened"), closed=Sum("closed"), delta=Sum("backlog"))
        .order_by("bucket")
    )
    week = params.start - dt.timedelta(days=params.start.weekday())
    earlier = Q(grain=G.AGENT_WEEK, day__lt=week) | Q(
        grain=G.AGENT, day__gte=week, day__lt=params.start
    )  # the weeks before the period's first, then its days before the start
    before = DailyStat.objects.filter(where, earlier).aggregate(n=Sum("backlog", default=0))["n"]
    found = {
        (s["bucket"].date() if isinstance(s["bucket"], dt.datetime) else s["bucket"]): s
        for s in sums
    }
    series, backlog = [], before
    for day in buckets(params):  # every bucket, the quiet ones too
        s = found.get(day, {"opened": 0, "closed": 0, "delta": 0})
        backlog += s["delta"]
        series.append(
            {"bucket": day, "opened": s["opened"], "closed": s["closed"], "backlog": backlog}
        )
    return series


def buckets(params: Params) -> list[dt.date]:
    """The first day of each bucket of the period: each day, each week's Monday, or each
    month's first (the first bucket may start before the period)."""
    if params.granularity == "week":
        day, step = params.start - dt.timedelta(days=params.start.weekday()), 7
    elif params.granularity == "month":
        day, step = params.start.replace(day=1), 0
    else:
        day, step = params.start, 1
    out = []
    while day <= params.end:
        out.append(day)
        if step:
            day += dt.timedelta(days=step)
        else:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def _channels(where: Q, params: Params) -> list[dict]:
    names = dict(Ticket.Source.choices)
    sums = (
        DailyStat.objects.filter(where, grain=G.CHANNEL, day__range=(params.start, params.end))
        .values("channel")
        .annotate(opened=Sum("opened"))
        .order_by("channel")
    )
    return [
        {
            "channel": s["channel"],
            "label": str(names.get(s["channel"], s["channel"])),
            "opened": s["opened"],
        }
        for s in sums
        if s["opened"]
    ]


def _replies(where: Q, params: Params) -> list[dict]:
    sums = (
        DailyStat.objects.filter(
            where, grain=G.AGENT, day__range=(params.start, params.end), agent_id__isnull=False
        )
        .values("agent_id")
        .annotate(responses=Sum("responses"))
        .order_by()
    )
    rows = [s for s in sums if s["responses"]]
    names = _labels(User, [s["agent_id"] for s in rows])
    out = [
        {
            "agent": s["agent_id"],
            "label": names.get(s["agent_id"], f"#{s['agent_id']}"),
            "responses": s["responses"],
        }
        for s in rows
    ]
    return sorted(out, key=lambda r: (-r["responses"], r["label"].lower()))


def report_for(*, viewer: User, params: Params) -> Report:
    own_only = not may_see_agents(viewer)
    dimension = "agent" if own_only else params.dimension
    where = scope(viewer, params)
    return Report(
        params=params,
        dimension=dimension,
        rows=_rows(where, params, dimension),
        series=_series(where, params),
        channels=_channels(where, params),
        replies=_replies(where, params),
        own_only=own_only,
    )


def departments_for(viewer: User) -> list[Department]:
    """The departments the report's filter offers the viewer."""
    depts = Department.objects.order_by("name")
    if not viewer.is_helpdesk_admin:
        depts = depts.filter(pk__in=perms.department_ids(viewer))
    return list(depts.only("pk", "name"))
