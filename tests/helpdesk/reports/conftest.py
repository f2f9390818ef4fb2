"""A small helpdesk history with known times, for the reports' figures.

Business hours Mon-Fri 09:00-17:00 UTC; SLA "Standard" 8 business hours on them.
The week of Monday 2 March 2026 (UTC):

T1 dept A, SLA, web. Mon 10:00 opened by alice; 10:30 assigned to alex (agent_a);
   11:00 alex replies (first response: 1 h); 16:00 alice writes; Tue 10:00 alex replies
   (17:00-16:00 + 10:00-09:00 = 2 h); Tue 11:30 the sweep marks it overdue (due Tue
   11:00: Mon 10-17 = 7 h + Tue 9-10 = 1 h); Tue 12:00 alex closes it: resolution
   7 h + 3 h = 10 h, after its due date.
T2 dept A, SLA, email. Mon 12:00 opened; 12:05 assigned to alex; 13:00 alex replies
   (first response 1 h); 15:00 alex closes it (3 h, due Tue 12:00: met); Wed 09:30 the
   admin reopens it (the SLA clock starts again, due Thu 09:30); Wed 11:30 alex closes it
   (2 h, met).
T3 dept B, no SLA, web. Mon 10:00 opened by bob; 10:10 assigned to bea (agent_b);
   20:00 bea replies (first response 10 h, wall clock: no SLA). Stays open.
T4 dept A, SLA, web. Tue 09:00 opened; 09:10 the admin moves it to the trash.
"""

import datetime as dt

import pytest
import time_machine

from helpdesk.reports.rollup import reports_refresh
from routing.models import ScheduleHours
from tests.factories import ScheduleFactory, SLAFactory, open_ticket, status
from tickets import services
from tickets.models import Ticket

MON = dt.date(2026, 3, 2)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Day 0 is Monday 2 March 2026; UTC."""
    return dt.datetime.combine(MON + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=dt.UTC)


class History:
    def __init__(self, cast):
        self.cast = cast
        schedule = ScheduleFactory(name="Office")
        for weekday in range(5):
            ScheduleHours.objects.create(
                schedule=schedule, weekday=weekday, start_time=dt.time(9), end_time=dt.time(17)
            )
        self.sla = SLAFactory(name="Standard", grace_hours=8, schedule=schedule)

    def run(self):
        c = self.cast
        fresh = lambda t: Ticket.objects.get(pk=t.pk)  # noqa: E731
        with time_machine.travel(at(0, 10), tick=False) as clock:
            self.t1 = open_ticket(c.alice, actor=c.admin, department=c.dept_a, sla=self.sla)
            self.t3 = open_ticket(c.bob, actor=c.admin, department=c.dept_b, subject="Bill")
            clock.move_to(at(0, 10, 10))
            services.ticket_assign(actor=c.admin, ticket=fresh(self.t3), agent=c.agent_b)
            clock.move_to(at(0, 10, 30))
            services.ticket_assign(actor=c.admin, ticket=fresh(self.t1), agent=c.agent_a)
            clock.move_to(at(0, 11))
            services.ticket_post_reply(actor=c.agent_a, ticket=fresh(self.t1), body="On it")
            clock.move_to(at(0, 12))
            self.t2 = open_ticket(
                c.alice, actor=c.admin, department=c.dept_a, sla=self.sla, source="email"
            )
            clock.move_to(at(0, 12, 5))
            services.ticket_assign(actor=c.admin, ticket=fresh(self.t2), agent=c.agent_a)
            clock.move_to(at(0, 13))
            services.ticket_post_reply(actor=c.agent_a, ticket=fresh(self.t2), body="Done?")
            clock.move_to(at(0, 15))
            self.close(c.agent_a, self.t2)
            clock.move_to(at(0, 16))
            services.ticket_post_message(actor=c.alice, ticket=fresh(self.t1), body="Still?")
            clock.move_to(at(0, 20))
            services.ticket_post_reply(actor=c.agent_b, ticket=fresh(self.t3), body="Looking")
            clock.move_to(at(1, 9))
            self.t4 = open_ticket(c.alice, actor=c.admin, department=c.dept_a, sla=self.sla)
            clock.move_to(at(1, 9, 10))
            services.ticket_delete(actor=c.admin, ticket=fresh(self.t4))
            clock.move_to(at(1, 10))
            services.ticket_post_reply(actor=c.agent_a, ticket=fresh(self.t1), body="Fixed")
            clock.move_to(at(1, 11, 30))
            services.tickets_mark_overdue(now=at(1, 11, 30))
            clock.move_to(at(1, 12))
            self.close(c.agent_a, self.t1)
            clock.move_to(at(2, 9, 30))
            services.ticket_set_status(actor=c.admin, ticket=fresh(self.t2), status=status("Open"))
            clock.move_to(at(2, 11, 30))
            self.close(c.agent_a, self.t2)
        return self

    def close(self, agent, ticket):
        services.ticket_set_status(
            actor=agent, ticket=Ticket.objects.get(pk=ticket.pk), status=status("Closed")
        )


@pytest.fixture
def history(cast, django_capture_on_commit_callbacks):
    h = History(cast).run()
    reports_refresh()
    return h
