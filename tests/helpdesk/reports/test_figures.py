"""Every figure of the report against the hand-computed history of conftest.py."""

import datetime as dt

import pytest

from helpdesk.reports.figures import Params, report_for
from helpdesk.reports.models import DailyStat, Fact
from tests.factories import AgentFactory

from .conftest import MON

pytestmark = pytest.mark.django_db
H = 3600


def params(**kw):
    return Params(start=MON, end=MON + dt.timedelta(days=6), **kw)


def by_label(report):
    return {r.label: r for r in report.rows}


def test_department_figures_are_the_hand_computed_ones(cast, history):
    rows = by_label(report_for(viewer=cast.admin, params=params(dimension="department")))
    a, b = rows["Support"], rows["Billing"]
    assert (a.opened, a.assigned, a.overdue, a.closed, a.reopened, a.deleted) == (3, 2, 1, 3, 1, 1)
    assert a.responses == 3
    assert a.service_time == (10 + 3 + 2) * H / 3  # osTicket's service time
    assert a.response_time == (1 + 2 + 1) * H / 3  # business hours: Mon 16:00 -> Tue 10:00 is 2 h
    assert (a.first_response_p50, a.first_response_p90) == (1 * H, 1 * H)
    assert a.resolution_p50 == 3 * H
    assert a.resolution_p90 == pytest.approx((3 + 0.8 * 7) * H)  # of 2, 3, 10 h
    assert a.sla_compliance == pytest.approx(2 / 3)  # T1 late, T2 twice in time
    assert (b.opened, b.assigned, b.closed, b.responses) == (1, 1, 0, 1)
    assert (b.first_response_p50, b.first_response_p90) == (10 * H, 10 * H)  # no SLA: clock
    assert b.sla_compliance is None and b.service_time is None


def test_agent_figures_follow_who_held_the_ticket(cast, history):
    rows = by_label(report_for(viewer=cast.admin, params=params(dimension="agent")))
    alex, bea = rows[cast.agent_a.display_name], rows[cast.agent_b.display_name]
    nobody = rows["(none)"]
    assert (alex.assigned, alex.overdue, alex.closed, alex.reopened, alex.responses) == (
        2,
        1,
        3,
        1,
        3,
    )
    assert alex.resolution_p50 == 3 * H
    assert (bea.assigned, bea.responses, bea.first_response_p50) == (1, 1, 10 * H)
    # opened before anyone held them (assigned minutes later); T4 deleted unassigned
    assert (nobody.opened, nobody.deleted) == (4, 1)


def test_backlog_channels_and_replies(cast, history):
    report = report_for(viewer=cast.admin, params=params(department_id=cast.dept_a.pk))
    days = {s["bucket"]: s for s in report.series}
    # Mon: T1, T2 opened, T2 closed; Tue: T4 opened and deleted, T1 closed; Wed: T2 both
    assert [days[MON + dt.timedelta(days=n)]["backlog"] for n in range(7)] == [1, 0, 0, 0, 0, 0, 0]
    assert [days[MON + dt.timedelta(days=n)]["opened"] for n in range(3)] == [2, 1, 0]
    assert {c["channel"]: c["opened"] for c in report.channels} == {"web": 2, "email": 1}
    assert [(r["agent"], r["responses"]) for r in report.replies] == [(cast.agent_a.pk, 3)]


def test_week_and_month_granularity_sum_the_days(cast, history):
    week = report_for(viewer=cast.admin, params=params(granularity="week"))
    assert [(s["bucket"], s["opened"], s["closed"], s["backlog"]) for s in week.series] == [
        (MON, 4, 3, 1)  # T3 still open
    ]
    month = report_for(viewer=cast.admin, params=params(granularity="month"))
    assert [s["bucket"] for s in month.series] == [dt.date(2026, 3, 1)]


def test_the_backlog_before_the_period_carries_over(cast, history):
    later = Params(start=MON + dt.timedelta(days=1), end=MON + dt.timedelta(days=1))
    report = report_for(viewer=cast.admin, params=later)
    # Monday ended with T1 (dept A) and T3 (dept B) open; Tuesday closed T1
    assert [s["backlog"] for s in report.series] == [1]  # one day, one bucket


def test_without_stats_agents_an_agent_sees_only_their_own_figures(cast, history):
    report = report_for(viewer=cast.agent_a, params=params(dimension="department"))
    assert report.own_only and report.dimension == "agent"
    assert [r.key for r in report.rows] == [cast.agent_a.pk]
    assert [r["agent"] for r in report.replies] == [cast.agent_a.pk]


def test_with_stats_agents_an_agent_sees_the_agents_of_their_departments_only(cast, history):
    lead = AgentFactory(username="lead", department=cast.dept_a, permissions=["stats.agents"])
    report = report_for(viewer=lead, params=params(dimension="agent"))
    assert {r.key for r in report.rows} == {cast.agent_a.pk, None}  # not bea (department B)
    dept = report_for(viewer=lead, params=params(dimension="department"))
    assert [r.label for r in dept.rows] == ["Support"]
    assert {c["channel"] for c in dept.channels} == {"web", "email"}


def test_a_reopened_ticket_gives_two_closes_measured_from_each_clock_start(cast, history):
    closes = Fact.objects.filter(ticket_id=history.t2.pk, kind=Fact.Kind.CLOSED).order_by("at")
    assert [(f.seconds, f.met_sla) for f in closes] == [(3 * H, True), (2 * H, True)]


def test_the_rebuild_is_idempotent(cast, history):
    from helpdesk.reports.rollup import rebuild_range

    before = sorted(
        DailyStat.objects.values_list("day", "department_id", "agent_id", "opened"), key=str
    )
    facts = Fact.objects.count()
    rebuild_range(MON, MON + dt.timedelta(days=6))
    assert Fact.objects.count() == facts
    after = sorted(
        DailyStat.objects.values_list("day", "department_id", "agent_id", "opened"), key=str
    )
    assert after == before


def test_large_reports_read_percentiles_from_the_histograms_within_5_percent(
    cast, history, monkeypatch
):
    from helpdesk.reports import figures

    monkeypatch.setattr(figures, "EXACT_LIMIT", 0)
    report = report_for(viewer=cast.admin, params=params(dimension="department"))
    a = by_label(report)["Support"]
    assert a.approximate and report.approximate
    assert a.resolution_p50 == pytest.approx(3 * H, rel=0.05)
    assert a.resolution_p90 == pytest.approx((3 + 0.8 * 7) * H, rel=0.05)
    assert a.first_response_p50 == pytest.approx(1 * H, rel=0.05)
    assert a.opened == 3  # the counts stay exact


def test_histogram_buckets_hold_every_value_within_5_percent():
    from collections import Counter

    from helpdesk.reports.histogram import bucket, histogram, merge, percentile

    for seconds in (61, 600, 3600, 7200, 36_000, 86_400 * 30):
        hist = Counter()
        merge(hist, histogram([seconds]))
        assert percentile(hist, 0.5) == pytest.approx(seconds, rel=0.05)
    assert bucket(59) == 0 and bucket(60) == 1
    assert percentile(Counter(), 0.5) is None


def test_histograms_of_full_weeks_and_edge_days_add_up_alike(cast, history, monkeypatch):
    from helpdesk.reports import figures
    from helpdesk.reports.models import DailyStat

    monkeypatch.setattr(figures, "EXACT_LIMIT", 0)
    assert DailyStat.objects.filter(grain="agent_w", day=MON).exists()  # the week's row
    week = by_label(report_for(viewer=cast.admin, params=params()))["Support"]
    around = Params(start=MON - dt.timedelta(days=1), end=MON + dt.timedelta(days=9))
    wider = by_label(report_for(viewer=cast.admin, params=around))["Support"]
    days = Params(start=MON, end=MON + dt.timedelta(days=2))  # no full week: the days
    short = by_label(report_for(viewer=cast.admin, params=days))["Support"]
    for row in (wider, short):
        assert (row.resolution_p50, row.resolution_p90) == (
            week.resolution_p50,
            week.resolution_p90,
        )
        assert row.first_response_p50 == week.first_response_p50


def test_the_rebuild_command_brings_back_lost_read_models(cast, history):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    expected = report_for(viewer=cast.admin, params=params()).rows
    Fact.objects.all().delete()
    DailyStat.objects.all().delete()
    out = StringIO()
    call_command("rebuild_reports", "--from", "2026-03-02", "--to", "2026-03-08", stdout=out)
    assert "4 tickets, 7 days rebuilt" in out.getvalue()
    assert report_for(viewer=cast.admin, params=params()).rows == expected
    with pytest.raises(CommandError):
        call_command("rebuild_reports", "--from", "2026-03-09", "--to", "2026-03-02")


def test_the_backlog_of_earlier_weeks_comes_from_their_week_rows(cast, history):
    later = Params(start=MON + dt.timedelta(days=7), end=MON + dt.timedelta(days=8))
    series = report_for(viewer=cast.admin, params=later).series
    # only T3 (Billing) is still open; quiet days are in the series too
    assert [(s["bucket"], s["opened"], s["backlog"]) for s in series] == [
        (MON + dt.timedelta(days=7), 0, 1),
        (MON + dt.timedelta(days=8), 0, 1),
    ]
    assert DailyStat.objects.get(grain="agent_w", day=MON, agent_id=cast.agent_b.pk).backlog == 1


def test_time_in_a_status_that_pauses_the_sla_is_left_out(cast, history):
    """T5: Mon 10:00 opened (SLA 8 business hours); 11:00 "Awaiting customer" (pauses the
    clock); Tue 11:00 back to Open; Tue 13:00 closed. The clock ran Mon 10-11 and Tue
    11-13: 3 h, in time (the wall of business hours, 10 h, would be late)."""
    import time_machine

    from helpdesk.reports.rollup import reports_refresh
    from tests.factories import open_ticket, status
    from tickets import services
    from tickets.models import Ticket

    from .conftest import at

    with time_machine.travel(at(0, 10), tick=False) as clock:
        t5 = open_ticket(cast.alice, actor=cast.admin, department=cast.dept_b, sla=history.sla)
        for when, name in (
            (at(0, 11), "Awaiting customer"),
            (at(1, 11), "Open"),
            (at(1, 13), "Closed"),
        ):
            clock.move_to(when)
            services.ticket_set_status(
                actor=cast.admin, ticket=Ticket.objects.get(pk=t5.pk), status=status(name)
            )
    reports_refresh()
    close = Fact.objects.get(ticket_id=t5.pk, kind=Fact.Kind.CLOSED)
    assert (close.seconds, close.met_sla) == (3 * H, True)
