"""In-panel alerts (the bell): written where the mail channel decides who is alerted,
whatever the agent's "email me" choice (which governs the mail only); never shown about
a ticket the agent may not see; opened (read) one by one or all at once."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.alerts.models import Alert
from helpdesk.alerts.selectors import unread_count
from helpdesk.mail.models import DepartmentMailSettings, OutboundMessage
from helpdesk.mail.notifications import notify
from helpdesk.panel.models import AgentPreferences
from threads.models import ThreadEntry
from tickets import services

from ..factories import open_ticket
from .conftest import new_task, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a step with its after-commit work (signals, notification tasks) executed."""

    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


def _new_ticket(cast, run, subject="Printer on fire"):
    return run(open_ticket, cast.alice, department=cast.dept_a, subject=subject)


def _mailed(template: str) -> set[str]:
    rows = OutboundMessage.objects.filter(template=template)
    return set(rows.values_list("recipient", flat=True))


def _bell(html: str) -> str:
    start = html.index('id="bell"')
    return html[start : html.index("</a>", start)]


def test_a_new_ticket_alerts_the_department_in_the_panel(cast, run):
    ticket = _new_ticket(cast, run)
    rows = Alert.objects.filter(ticket=ticket, kind="ticket.alert")
    assert set(rows.values_list("recipient__username", flat=True)) == {"alex", "manager", "root"}
    client = signed_in(cast.agent_a)
    html = client.get("/scp/").content.decode()
    assert "data-unread>1<" in _bell(html)
    listing = client.get("/scp/alerts/").content.decode()
    assert "New ticket" in listing and f"#{ticket.number} Printer on fire" in listing
    assert 'class="alert unread"' in listing


def test_the_email_preference_decides_the_mail_only_both_ways(cast, run):
    AgentPreferences.objects.create(agent=cast.agent_a, notify_new_ticket=False)
    AgentPreferences.objects.create(agent=cast.manager_a, notify_new_ticket=True)
    ticket = _new_ticket(cast, run)
    mailed = _mailed("ticket.alert")
    assert cast.agent_a.email not in mailed and cast.manager_a.email in mailed
    bells = set(Alert.objects.filter(ticket=ticket).values_list("recipient_id", flat=True))
    assert {cast.agent_a.pk, cast.manager_a.pk} <= bells


def test_an_agent_never_sees_alerts_about_a_ticket_they_may_not_see(cast, run):
    ticket = _new_ticket(cast, run)
    [alert] = Alert.objects.filter(ticket=ticket, recipient=cast.agent_a)
    assert unread_count(user=cast.agent_a) == 1
    services.ticket_transfer(actor=cast.admin, ticket=ticket, department=cast.dept_b)
    client = signed_in(cast.agent_a)  # agent A has no access to department B
    assert unread_count(user=cast.agent_a) == 0
    assert "#" + ticket.number not in client.get("/scp/alerts/").content.decode()
    assert "data-unread" not in _bell(client.get("/scp/").content.decode())
    assert client.post(f"/scp/alerts/{alert.pk}/open/").status_code == 404
    alert.refresh_from_db()
    assert alert.read_at is None


def test_opening_an_alert_marks_it_read_and_goes_to_the_ticket(cast, run):
    ticket = _new_ticket(cast, run)
    alert = Alert.objects.get(ticket=ticket, recipient=cast.agent_a)
    client = signed_in(cast.agent_a)
    response = client.post(f"/scp/alerts/{alert.pk}/open/")
    assert response["Location"] == f"/scp/tickets/{ticket.number}/"
    alert.refresh_from_db()
    assert alert.read_at is not None
    assert unread_count(user=cast.agent_a) == 0
    assert client.get(f"/scp/alerts/{alert.pk}/open/").status_code == 405


def test_another_agents_alert_is_not_found(cast, run):
    ticket = _new_ticket(cast, run)
    theirs = Alert.objects.get(ticket=ticket, recipient=cast.manager_a)
    assert signed_in(cast.agent_a).post(f"/scp/alerts/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_touches_only_the_agents_own(cast, run):
    _new_ticket(cast, run, "One")
    _new_ticket(cast, run, "Two")
    client = signed_in(cast.agent_a)
    assert unread_count(user=cast.agent_a) == 2
    assert client.post("/scp/alerts/read-all/")["Location"] == "/scp/alerts/"
    assert unread_count(user=cast.agent_a) == 0 and unread_count(user=cast.manager_a) == 2


def test_a_retried_notification_adds_no_second_alert(cast, run):
    ticket = _new_ticket(cast, run)
    before = Alert.objects.count()
    entry = ThreadEntry.objects.filter(thread_id=ticket.thread_id).earliest("id")
    notify("created", ticket.pk, entry.pk, autorespond=False, alert=True)
    assert Alert.objects.count() == before


def test_task_alerts_reach_the_departments_agents_in_the_panel(cast, run):
    DepartmentMailSettings.objects.create(department=cast.dept_a, task_alert_members=True)
    task = run(new_task, cast.admin, department=cast.dept_a)
    reached = set(Alert.objects.filter(task=task).values_list("recipient_id", flat=True))
    assert cast.agent_a.pk in reached and cast.agent_b.pk not in reached
    listing = signed_in(cast.agent_a).get("/scp/alerts/").content.decode()
    assert f"#{task.number}" in listing and "New task" in listing
    assert f"#{task.number}" not in signed_in(cast.agent_b).get("/scp/alerts/").content.decode()


def test_the_alerts_page_costs_the_same_whatever_the_number_of_alerts(cast, run):
    client = signed_in(cast.agent_a)
    _new_ticket(cast, run, "First")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/scp/alerts/").status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(8):
        _new_ticket(cast, run, f"More {i}")
    assert queries() == few


def test_the_counts_fragment_refreshes_the_bell_out_of_band(cast, run):
    _new_ticket(cast, run)
    html = signed_in(cast.agent_a).get("/scp/queues/counts/").content.decode()
    bell = _bell(html)
    assert 'hx-swap-oob="true"' in bell and "data-unread>1<" in bell


def test_the_cron_job_purges_alerts_read_long_ago_or_very_old(cast, run):
    from django.utils import timezone

    from helpdesk import cron

    tickets = [_new_ticket(cast, run, f"T{i}") for i in range(3)]
    mine = {t.pk: Alert.objects.get(ticket=t, recipient=cast.agent_a) for t in tickets}
    now = timezone.now()
    Alert.objects.filter(pk=mine[tickets[0].pk].pk).update(read_at=now - dt.timedelta(days=31))
    Alert.objects.filter(pk=mine[tickets[1].pk].pk).update(created_at=now - dt.timedelta(days=181))
    Alert.objects.filter(pk=mine[tickets[2].pk].pk).update(read_at=now - dt.timedelta(days=2))
    before = Alert.objects.count()
    assert cron.JOBS["purge_alerts"]() == 2
    assert Alert.objects.count() == before - 2
    assert set(
        Alert.objects.filter(recipient=cast.agent_a).values_list("ticket_id", flat=True)
    ) == {tickets[2].pk}
