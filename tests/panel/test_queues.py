"""Queues: which tickets, keyset pages, sorting, bounded counts, bulk actions, saved
queues, and the query budgets (a queue page and the ticket view)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.panel import services as panel_services
from helpdesk.panel.models import AgentPreferences
from threads.models import ThreadEvent
from tickets import services
from tickets.models import Ticket

from ..factories import AgentFactory, TeamFactory, attachment, open_ticket, role, status
from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _numbers(html: str) -> list[str]:
    return [chunk.split("</a>")[0] for chunk in html.split('class="number">#')[1:]]


def _open(cast, n, dept=None, **kw):
    return [
        open_ticket(cast.alice, department=dept or cast.dept_a, subject=f"Ticket {i}", **kw)
        for i in range(n)
    ]


def test_queues_hold_the_right_tickets(cast, as_agent_a):
    mine, unassigned, other_dept = (
        _open(cast, 1)[0],
        _open(cast, 1)[0],
        _open(cast, 1, cast.dept_b)[0],
    )
    services.ticket_claim(actor=cast.agent_a, ticket=mine)
    closed = _open(cast, 1)[0]
    services.ticket_set_status(actor=cast.admin, ticket=closed, status=status("Closed"))
    open_page = as_agent_a.get("/scp/queues/open/").content.decode()
    assert set(_numbers(open_page)) == {mine.number, unassigned.number}
    assert _numbers(as_agent_a.get("/scp/queues/mine/").content.decode()) == [mine.number]
    assert _numbers(as_agent_a.get("/scp/queues/unassigned/").content.decode()) == [
        unassigned.number
    ]
    assert _numbers(as_agent_a.get("/scp/queues/closed/").content.decode()) == [closed.number]
    assert other_dept.number not in open_page
    assert as_agent_a.get("/scp/queues/deleted/").status_code == 404  # the trash: admins only


def test_team_overdue_and_answered_queues(cast, as_agent_a):
    team = TeamFactory(members=[cast.agent_a])
    t_team, t_over, t_ans = _open(cast, 3)
    services.ticket_assign(actor=cast.admin, ticket=t_team, team=team)
    Ticket.objects.filter(pk=t_over.pk).update(is_overdue=True)  # as the sweep would
    services.ticket_post_reply(actor=cast.admin, ticket=t_ans, body="Answer")
    assert _numbers(as_agent_a.get("/scp/queues/teams/").content.decode()) == [t_team.number]
    assert _numbers(as_agent_a.get("/scp/queues/overdue/").content.decode()) == [t_over.number]
    assert _numbers(as_agent_a.get("/scp/queues/answered/").content.decode()) == [t_ans.number]
    page = as_agent_a.get("/scp/queues/open/").content.decode()
    assert 'class="overdue' in page and "badge overdue" in page


def test_keyset_pages_walk_every_ticket_once_in_order(cast, as_agent_a):
    AgentPreferences.objects.create(agent=cast.agent_a, page_size=10)
    tickets = _open(cast, 23)
    seen, url = [], "/scp/queues/open/?sort=number"
    while url:
        html = as_agent_a.get(url).content.decode()
        assert "offset" not in url
        seen += _numbers(html)
        nxt = html.split('rel="next" href="')[1].split('"')[0] if 'rel="next"' in html else None
        url = "/scp/queues/open/" + nxt.replace("&amp;", "&") if nxt else None
    assert seen == sorted(t.number for t in tickets)
    # and back: the previous link of the last page gives the page before it
    prev = html.split('rel="prev" href="')[1].split('"')[0].replace("&amp;", "&")
    assert _numbers(as_agent_a.get("/scp/queues/open/" + prev).content.decode()) == seen[10:20]


def test_a_bad_cursor_is_a_400_showing_the_error_above_the_first_page(cast, as_agent_a):
    _open(cast, 2)
    response = as_agent_a.get("/scp/queues/open/?cursor=garbage!!")
    assert response.status_code == 400
    assert response.context["query_errors"] == [
        "Page (cursor): This page link is not valid any more: use the Next and Previous links."
    ]
    assert len(_numbers(response.content.decode())) == 2
    other_sort = as_agent_a.get("/scp/queues/open/?sort=number")
    assert other_sort.status_code == 200


def test_a_cursor_with_text_where_a_number_goes_is_a_400(cast, as_agent_a):
    """The priority sort's cursors carry an integer; text there (a forged link) is
    refused like any bad cursor, never a 500 from the database or the ORM."""
    import base64
    import json

    tickets = _open(cast, 3)
    for value in ("3", "abc", 2.5):
        raw = json.dumps({"k": "-priority", "v": value, "i": tickets[0].pk, "b": False})
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        response = as_agent_a.get(f"/scp/queues/open/?sort=-priority&cursor={cursor}")
        assert response.status_code == 400, value
    good = as_agent_a.get("/scp/queues/open/?sort=-priority")
    assert good.status_code == 200


def test_sorting_by_a_column_and_htmx_gets_only_the_table(cast, as_agent_a):
    a, b = _open(cast, 2)
    html = as_agent_a.get("/scp/queues/open/?sort=number").content.decode()
    assert _numbers(html) == sorted([a.number, b.number])
    desc = as_agent_a.get("/scp/queues/open/?sort=-number", HTTP_HX_REQUEST="true")
    assert desc.content.decode().lstrip().startswith('<div id="queue"')
    assert _numbers(desc.content.decode()) == sorted([a.number, b.number], reverse=True)


def test_sidebar_counts_are_bounded(cast, as_agent_a, monkeypatch):
    from helpdesk import counts

    _open(cast, 4)
    monkeypatch.setattr(counts, "COUNT_CAP", 2)
    html = as_agent_a.get("/scp/queues/open/").content.decode()
    assert 'data-queue="open"' in html
    counts = html.split('data-queue="open"')[1].split("</a>")[0]
    assert '<span class="count">3</span>' in counts  # cap + 1: shown as "more than 2"


def test_locked_tickets_are_marked_in_the_queue(cast, as_agent_a):
    ticket = _open(cast, 1)[0]
    services.ticket_lock_acquire(actor=cast.admin, ticket=ticket)
    html = as_agent_a.get("/scp/queues/open/").content.decode()
    assert f"Locked by {cast.admin.display_name}" in html


# --- bulk actions ---------------------------------------------------------------------------
def test_bulk_actions_are_offered_only_to_agents_allowed_to_do_them(cast, as_agent_a):
    _open(cast, 1)
    viewer = AgentFactory(username="viewer", department=cast.dept_a, role=role("View only"))
    assert 'name="action"' not in signed_in(viewer).get("/scp/").content.decode()
    limited = AgentFactory(username="lim", department=cast.dept_a, role=role("Limited Access"))
    html = signed_in(limited).get("/scp/").content.decode()
    assert '<option value="assign">' in html and '<option value="merge">' in html
    assert '<option value="status">' not in html and '<option value="delete">' not in html


def test_bulk_assign_calls_the_service_per_ticket_and_reports_refusals(cast, as_agent_a):
    mine = _open(cast, 2)
    other = _open(cast, 1, cast.dept_b)[0]
    response = as_agent_a.post(
        "/scp/queues/bulk/",
        {
            "action": "assign",
            "agent": cast.manager_a.pk,
            "tickets": [mine[0].number, mine[1].number, other.number],
            "next": "/scp/queues/open/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/scp/queues/open/"
    assert {t.assignee_id for t in Ticket.objects.filter(pk__in=[m.pk for m in mine])} == {
        cast.manager_a.pk
    }
    assert Ticket.objects.get(pk=other.pk).assignee_id is None
    page = as_agent_a.get("/scp/queues/open/").content.decode()
    assert f"#{other.number}: ticket not found." in page
    assert "2 ticket(s) updated." in page


def test_bulk_status_is_refused_per_ticket_without_the_permission(cast):
    limited = AgentFactory(username="lim", department=cast.dept_a, role=role("Limited Access"))
    ticket = _open(cast, 1)[0]
    events = ThreadEvent.objects.filter(thread_id=ticket.thread_id).count()
    client = signed_in(limited)
    client.post(
        "/scp/queues/bulk/",
        {"action": "status", "status": status("Closed").pk, "tickets": [ticket.number]},
    )
    assert Ticket.objects.get(pk=ticket.pk).state == "open"
    assert ThreadEvent.objects.filter(thread_id=ticket.thread_id).count() == events
    assert "does not allow ticket.close" in client.get("/scp/").content.decode()


def test_bulk_merge_and_delete(cast):
    admin = signed_in(cast.admin)
    a, b, c = _open(cast, 3)
    admin.post("/scp/queues/bulk/", {"action": "merge", "tickets": [b.number, a.number]})
    assert Ticket.objects.get(pk=b.pk).merged_into_id == a.pk  # into the oldest
    admin.post("/scp/queues/bulk/", {"action": "delete", "tickets": [c.number]})
    assert Ticket.objects.get(pk=c.pk).state == "deleted"
    assert c.number in admin.get("/scp/queues/deleted/").content.decode()


# --- saved queues -----------------------------------------------------------------------------
def test_an_advanced_search_saved_as_a_personal_queue(cast, as_agent_a, nothing_written):
    high = _open(cast, 1)[0]
    services.ticket_set_priority(
        actor=cast.admin, ticket=high, priority=high.priority.__class__.objects.get(name="High")
    )
    _open(cast, 1)
    high_pk = high.priority.__class__.objects.get(name="High").pk
    found = as_agent_a.get(f"/scp/search/advanced/?priority={high_pk}").content.decode()
    assert _numbers(found) == [high.number]
    response = as_agent_a.post(
        "/scp/queues/save/",
        {"priority": high_pk, "name": "Hot", "columns": ["number", "subject"], "sort": "-created"},
    )
    queue = cast.agent_a.panel_queues.get()
    assert response["Location"] == f"/scp/queues/q{queue.pk}/"
    assert (queue.criteria, queue.columns, queue.is_shared) == (
        {"priority": high_pk},
        ["number", "subject"],
        False,
    )
    html = as_agent_a.get(f"/scp/queues/q{queue.pk}/").content.decode()
    assert _numbers(html) == [high.number] and ">Hot<" in html
    # personal: another agent does not see it
    assert signed_in(cast.agent_b).get(f"/scp/queues/q{queue.pk}/").status_code == 404
    # only admins share queues
    with nothing_written():
        refused = as_agent_a.post(
            "/scp/queues/save/", {"name": "All", "sort": "-updated", "shared": "on"}
        )
    assert (refused.status_code, refused["Location"]) == (
        302,
        "/scp/search/advanced/?name=All&sort=-updated&shared=on",
    )
    assert [str(m) for m in refused.wsgi_request._messages] == [
        "Only admins share queues with every agent."
    ]
    assert not cast.agent_a.panel_queues.filter(name="All").exists()


def test_a_shared_queue_shows_each_agent_only_what_they_may_see(cast):
    queue = panel_services.queue_save(
        actor=cast.admin,
        name="Everything open",
        criteria={"state": "open"},
        columns=[],
        sort="-updated",
        shared=True,
    )
    a, b = _open(cast, 1)[0], _open(cast, 1, cast.dept_b)[0]
    html = signed_in(cast.agent_b).get(f"/scp/queues/{queue.slug}/").content.decode()
    assert _numbers(html) == [b.number] and a.number not in html


# --- query budgets ------------------------------------------------------------------------------
def _queries(client, url) -> int:
    client.get(url)  # the first visit writes the session (the queue for "next ticket")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_a_queue_page_costs_the_same_number_of_queries_whatever_its_size(cast, as_agent_a):
    team = TeamFactory(members=[cast.agent_a])
    prefs = AgentPreferences.objects.create(agent=cast.agent_a, page_size=10)
    for i, t in enumerate(_open(cast, 10)):
        services.ticket_assign(actor=cast.admin, ticket=t, agent=cast.manager_a, team=team)
        if i % 2:
            services.ticket_lock_acquire(actor=cast.admin, ticket=t)
    small = _queries(as_agent_a, "/scp/queues/open/")
    _open(cast, 40)
    prefs.page_size = 50
    prefs.save()
    assert _queries(as_agent_a, "/scp/queues/open/") == small


def test_the_ticket_view_costs_the_same_number_of_queries_whatever_the_thread(cast, as_agent_a):
    ticket = open_ticket(cast.alice, department=cast.dept_a, files=[attachment()])
    services.ticket_add_collaborator(actor=cast.admin, ticket=ticket, user=cast.bob)
    short = _queries(as_agent_a, f"/scp/tickets/{ticket.number}/")
    for i in range(15):
        services.ticket_post_reply(
            actor=cast.admin,
            ticket=ticket,
            body=f"Reply {i}",
            files=[attachment(f"r{i}.txt", f"r{i}".encode())],
        )
        services.ticket_post_note(actor=cast.agent_a, ticket=ticket, body=f"Note {i}")
        services.ticket_post_message(actor=cast.alice, ticket=ticket, body=f"Message {i}")
    services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.manager_a)
    long = _queries(as_agent_a, f"/scp/tickets/{ticket.number}/")
    assert long == short
