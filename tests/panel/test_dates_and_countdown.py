"""One date format in the agent's time zone with the zone on hover, the SLA countdown
column of queues, and "claimed" events that read as such."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from helpdesk import display
from tickets import services
from tickets.models import Ticket

from ..factories import open_ticket
from .conftest import signed_in

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("due", "text", "late"),
    [
        (NOW + dt.timedelta(hours=3), "due in 3 h", False),
        (NOW + dt.timedelta(minutes=20), "due in 20 min", False),
        (NOW + dt.timedelta(days=3), "due in 3 days", False),
        (NOW - dt.timedelta(hours=2), "overdue by 2 h", True),
        (NOW - dt.timedelta(days=2, hours=1), "overdue by 2 days", True),
        (None, "", False),
    ],
)
def test_the_countdown_says_how_long_is_left_or_how_late(due, text, late):
    assert display.countdown(due, now=NOW) == (text, late)


def _due_in(ticket, hours):
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=NOW + dt.timedelta(hours=hours))


def _row(html: str, number: str) -> str:
    start = html.index(f'class="number">#{number}')
    return html[start : html.index("</tr>", start)]


def test_the_queue_shows_a_countdown_red_once_overdue(cast):
    soon = open_ticket(cast.alice, department=cast.dept_a, subject="Soon")
    late = open_ticket(cast.alice, department=cast.dept_a, subject="Late")
    none = open_ticket(cast.alice, department=cast.dept_a, subject="No SLA")
    _due_in(soon, 3)
    _due_in(late, -5)
    Ticket.objects.filter(pk=none.pk).update(sla_due_at=None, due_at=None)
    with time_machine.travel(NOW, tick=False):
        html = signed_in(cast.agent_a).get("/scp/queues/open/").content.decode()
    soon_row, late_row = _row(html, soon.number), _row(html, late.number)
    assert 'class="countdown"' in soon_row and "due in 3 h" in soon_row
    assert 'class="countdown overdue"' in late_row and "overdue by 5 h" in late_row
    assert "countdown" not in _row(html, none.number)


def test_a_paused_clock_reads_paused_not_overdue(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    Ticket.objects.filter(pk=ticket.pk).update(
        sla_due_at=NOW - dt.timedelta(hours=1), sla_paused_at=NOW - dt.timedelta(hours=2)
    )
    with time_machine.travel(NOW, tick=False):
        row = _row(signed_in(cast.agent_a).get("/scp/queues/open/").content.decode(), ticket.number)
    assert ">paused</time>" in row and "countdown overdue" not in row


def test_dates_are_in_the_agents_time_zone_with_the_zone_on_hover(cast):
    cast.agent_a.timezone = "Asia/Tokyo"
    cast.agent_a.save()
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=NOW)  # 18:00 in Tokyo
    html = signed_in(cast.agent_a).get("/scp/queues/open/").content.decode()
    row = _row(html, ticket.number)
    assert (
        '<time datetime="2026-03-02T18:00:00+09:00"'
        ' title="2026-03-02 18:00 Asia/Tokyo (UTC+09:00)">'
    ) in row
    page = signed_in(cast.agent_a).get(f"/scp/tickets/{ticket.number}/").content.decode()
    assert "Asia/Tokyo (UTC+09:00)" in page  # thread entries and the header too


def test_when_renders_nothing_for_no_date_and_escapes_nothing_it_should_not():
    with timezone.override("UTC"):
        assert display.when_html(None) == ""
        assert display.when_html(NOW) == (
            '<time datetime="2026-03-02T09:00:00+00:00" title="2026-03-02 09:00 UTC (UTC+00:00)">'
            f"{display.local_parts(NOW)[1]}</time>"
        )


def test_a_claim_reads_claimed_and_an_assignment_names_the_assignee(cast, ticket_a):
    services.ticket_claim(actor=cast.agent_a, ticket=ticket_a)
    html = signed_in(cast.agent_a).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    event = html[html.index("event-assigned") :]
    event = event[: event.index("</li>")]
    assert "<span>Claimed</span>" in event and "→" not in event
    other = open_ticket(cast.alice, department=cast.dept_a)
    services.ticket_assign(actor=cast.admin, ticket=other, agent=cast.agent_a)
    html = signed_in(cast.agent_a).get(f"/scp/tickets/{other.number}/").content.decode()
    event = html[html.index("event-assigned") :]
    event = event[: event.index("</li>")]
    assert "<span>Assigned</span>" in event and f"→ {cast.agent_a.display_name}" in event


def test_the_countdown_column_adds_no_query_per_row(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpdesk.panel.models import AgentPreferences

    client = signed_in(cast.agent_a)
    prefs = AgentPreferences.objects.create(agent=cast.agent_a, page_size=10)

    def add(n):
        for i in range(n):
            t = open_ticket(cast.alice, department=cast.dept_a, subject=f"T{i}")
            Ticket.objects.filter(pk=t.pk).update(
                sla_due_at=NOW + dt.timedelta(hours=i - n // 2), is_overdue=i % 2 == 0
            )

    def queries() -> int:
        client.get("/scp/queues/open/")
        with CaptureQueriesContext(connection) as ctx, time_machine.travel(NOW, tick=False):
            html = client.get("/scp/queues/open/").content.decode()
        assert "countdown overdue" in html and 'class="countdown"' in html
        return len(ctx.captured_queries)

    add(10)
    small = queries()
    add(40)
    prefs.page_size = 50
    prefs.save()
    assert queries() == small
