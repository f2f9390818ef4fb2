"""The read models follow the events: a ticket change marks the ticket in its own
transaction; the `reports_refresh` cron job derives its facts and sums the marked days."""

import datetime as dt

import pytest
from django.utils import timezone

from helpdesk import cron
from helpdesk.ops.models import JobRun
from helpdesk.reports.models import DailyStat, DirtyDay, DirtyTicket, Fact
from helpdesk.reports.rollup import day_rollup, reports_refresh
from tests.factories import open_ticket, status
from tickets import services

pytestmark = pytest.mark.django_db


def today_stat(dept):
    day = timezone.now().astimezone(dt.UTC).date()
    return DailyStat.objects.filter(day=day, department_id=dept.pk, grain="agent")


def test_a_change_marks_its_ticket_and_the_job_brings_the_sums_up_to_date(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    assert list(DirtyTicket.objects.values_list("ticket_id", flat=True)) == [ticket.pk]
    assert not DailyStat.objects.exists()  # nothing is summed inside the request

    assert cron.run_job("reports_refresh") == 2  # one ticket, one day
    assert not DirtyTicket.objects.exists() and not DirtyDay.objects.exists()
    assert sum(today_stat(cast.dept_a).values_list("opened", flat=True)) == 1

    services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Closed"))
    assert DirtyTicket.objects.filter(ticket_id=ticket.pk).exists()
    reports_refresh()
    assert sum(today_stat(cast.dept_a).values_list("closed", flat=True)) == 1
    assert JobRun.objects.filter(job="reports_refresh").count() == 1  # recorded by the runner


def test_a_rolled_back_change_marks_nothing(cast):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        open_ticket(cast.alice, department=cast.dept_a)
        raise RuntimeError
    assert not DirtyTicket.objects.exists()


def test_the_overdue_sweep_marks_the_tickets_it_flags(cast):
    ticket = open_ticket(
        cast.alice,
        actor=cast.admin,
        department=cast.dept_a,
        due_at=timezone.now() + dt.timedelta(hours=1),
    )
    reports_refresh()
    services.tickets_mark_overdue(now=timezone.now() + dt.timedelta(hours=2))
    assert DirtyTicket.objects.filter(ticket_id=ticket.pk).exists()
    reports_refresh()
    assert Fact.objects.filter(ticket_id=ticket.pk, kind=Fact.Kind.OVERDUE).count() == 1


def test_a_marked_day_is_summed_again_from_its_facts(cast):
    day = dt.date(2026, 1, 5)
    Fact.objects.create(
        ticket_id=999_999, kind=Fact.Kind.OPENED, at=dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC),
        day=day, department_id=cast.dept_a.pk, channel="web", backlog=1,
    )  # fmt: skip
    DirtyDay.objects.create(day=day)
    reports_refresh()
    stat = DailyStat.objects.get(day=day, grain="agent")
    assert DailyStat.objects.get(day=day, grain="channel").channel == "web"
    assert (stat.opened, stat.backlog, stat.department_id) == (1, 1, cast.dept_a.pk)
    assert not DirtyDay.objects.exists()
    Fact.objects.all().delete()
    assert day_rollup(day) == 0 and not DailyStat.objects.exists()


def test_a_purged_ticket_keeps_its_past_figures(cast):
    """(A ticket deleted and purged between two runs of the job loses its deletion:
    the history it would be read from is gone.)"""
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    services.ticket_delete(actor=cast.admin, ticket=ticket)
    reports_refresh()
    services.tickets_purge(actor=cast.admin, tickets=[ticket])
    reports_refresh()
    kinds = sorted(Fact.objects.filter(ticket_id=ticket.pk).values_list("kind", flat=True))
    assert kinds == ["deleted", "opened"]


def test_deriving_facts_takes_the_same_statements_for_few_or_many_tickets(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpdesk.reports.facts import facts_rebuild
    from routing.models import ScheduleHours
    from tests.factories import ScheduleFactory, SLAFactory

    schedule = ScheduleFactory()
    ScheduleHours.objects.create(
        schedule=schedule, weekday=0, start_time=dt.time(9), end_time=dt.time(17)
    )
    sla = SLAFactory(schedule=schedule)

    def tickets(n):
        out = []
        for _ in range(n):
            t = open_ticket(cast.alice, actor=cast.admin, department=cast.dept_a, sla=sla)
            services.ticket_post_reply(actor=cast.agent_a, ticket=t, body="Hi")
            out.append(
                services.ticket_set_status(actor=cast.admin, ticket=t, status=status("Closed"))
            )
        return [t.pk for t in out]

    few, many = tickets(2), tickets(6)
    with CaptureQueriesContext(connection) as small:
        facts_rebuild(few)
    with CaptureQueriesContext(connection) as large:
        facts_rebuild(many)
    assert len(large) == len(small)
    assert Fact.objects.filter(ticket_id__in=many, kind=Fact.Kind.CLOSED).count() == 6
