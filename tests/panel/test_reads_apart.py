"""The frame's counts read apart (helpdesk.apart, panel.views.common.frame_ahead): on
another connection, from another thread, the same counts and the same page as when
they are read in the request. The data is committed (a transactional test): another
connection sees nothing of a test's open transaction."""

import re
import threading
from concurrent.futures import Future

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from helpdesk import apart
from helpdesk.panel.models import AgentPreferences
from helpdesk.panel.views import common
from tests.factories import open_ticket
from tickets import services

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PAGES = ("/scp/queues/open/", "/scp/search/?q=printer", "/scp/tasks/search/?q=printer")


@pytest.fixture(autouse=True)
def persistent(monkeypatch):
    """Reads apart need persistent connections (helpdesk.apart.enabled); the threads'
    connections are closed after the test, so the test database can go."""
    for alias in connections:
        monkeypatch.setitem(connections.settings[alias], "CONN_MAX_AGE", 60)
    yield
    apart.shutdown()


@pytest.fixture
def counted_in(monkeypatch) -> list[str]:
    """The names of the threads the frame's counts were read in, request after request."""
    threads: list[str] = []
    real = common._frame_counts

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(common, "_frame_counts", recorded)
    return threads


@pytest.fixture
def desk(cast):
    User.objects.filter(pk=cast.agent_a.pk).update(timezone="Asia/Tokyo")
    AgentPreferences.objects.create(agent=cast.agent_a, language="fr")  # labels in French
    for i in range(3):
        open_ticket(cast.alice, department=cast.dept_a, subject=f"Printer {i} jams")
    mine = open_ticket(cast.bob, department=cast.dept_a, subject="Printer out of paper")
    services.ticket_assign(actor=cast.admin, ticket=mine, agent=cast.agent_a)
    open_ticket(cast.bob, department=cast.dept_b, subject="Not theirs")
    client = Client()
    client.force_login(User.objects.get(pk=cast.agent_a.pk))
    return client, mine


def _frame(response) -> tuple:
    ctx = response.context
    queues = [(q.slug, q.count) for q in ctx["sidebar"]["queues"]]
    return queues, ctx["my_tasks_count"], ctx["alerts_unread"]


def _pages(client, ticket) -> dict:
    out = {}
    for url in (*PAGES, f"/scp/tickets/{ticket.number}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        # the sidebar as written (its counts, labels in the agent's language)
        start = html.index('<nav id="sidebar"')
        sidebar = html[start : html.index("</nav>", start)]
        # and the page itself (a search's results: its sources read side by side)
        main = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html[html.index("<main") :])
        out[url] = (_frame(response), sidebar, main)
    return out


def test_the_frame_counted_apart_is_the_frame_counted_in_the_request(
    settings, desk, counted_in, caplog
):
    client, ticket = desk
    settings.HELPDESK_READS_APART = False
    inline = _pages(client, ticket)
    assert counted_in == [threading.current_thread().name] * 4
    counted_in.clear()
    settings.HELPDESK_READS_APART = True
    assert apart.enabled()
    pages = _pages(client, ticket)
    assert not [r.getMessage() for r in caplog.records if r.name == "helpdesk.apart"]
    assert pages == inline
    # the task search counts its own tabs with the frame's, in the request
    apart_, here = counted_in[:2] + counted_in[3:], counted_in[2]
    assert all(name.startswith("reads-apart") for name in apart_), counted_in
    assert here == threading.current_thread().name
    # the counts are the agent's: department A's four, one of them theirs; in French
    counts = dict(inline["/scp/queues/open/"][0][0])
    assert "Files d" in inline["/scp/queues/open/"][1], inline["/scp/queues/open/"][1]
    assert counts["open"] == 4
    assert counts["mine"] == 1
    found = inline["/scp/search/?q=printer"][2]
    assert found.count('class="number"') == 4 and "Not theirs" not in found


@pytest.mark.usefixtures("desk")
def test_search_sources_read_side_by_side_find_what_one_statement_finds(settings, monkeypatch):
    """Each source on its own connection (the message source in the request), the same
    candidates as their UNION ALL, and a source whose read apart fails is read again."""
    from helpdesk.panel import search

    user = User.objects.get(username="alex")
    settings.HELPDESK_READS_APART = False
    one = search.quick_search(user=user, text="printer")
    settings.HELPDESK_READS_APART = True
    with CaptureQueriesContext(connection) as here:
        apart_ = search.quick_search(user=user, text="printer")
    assert [(t.number, t.matched) for t in apart_.tickets] == [
        (t.number, t.matched) for t in one.tickets
    ]
    assert len(one.tickets) == 4
    assert not any("UNION ALL" in q["sql"] for q in here)  # no union: the sources apart
    assert any("threads_threadentry" in q["sql"] for q in here)  # the message source here

    def lost(fn, *args):
        future: Future = Future()
        future.set_exception(RuntimeError("connection lost"))
        return future

    monkeypatch.setattr(apart, "submit", lost)
    again = search.quick_search(user=user, text="printer")
    assert [t.number for t in again.tickets] == [t.number for t in one.tickets]


def test_a_failed_read_apart_is_read_again_in_the_request(settings, desk, monkeypatch):
    client, _ticket = desk
    settings.HELPDESK_READS_APART = False
    expected = _frame(client.get("/scp/queues/open/"))
    settings.HELPDESK_READS_APART = True
    real = common.selectors.sidebar

    def broken_apart(*args, **kwargs):
        if threading.current_thread().name.startswith("reads-apart"):
            raise RuntimeError("connection lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(common.selectors, "sidebar", broken_apart)
    response = client.get("/scp/queues/open/")
    assert response.status_code == 200
    assert _frame(response) == expected


def test_only_full_pages_read_apart(settings, desk, counted_in):
    client, _ticket = desk
    settings.HELPDESK_READS_APART = True
    response = client.get("/scp/queues/open/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert counted_in == []  # a partial has no frame, and nothing was counted for it
    client.get("/scp/queues/open/")
    assert len(counted_in) == 1


def test_reads_apart_only_when_asked_with_persistent_connections(settings, monkeypatch):
    settings.HELPDESK_READS_APART = True
    assert apart.enabled()
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    assert not apart.enabled()  # a connect per read would cost more than it saves
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", None)
    assert apart.enabled()  # kept for good
    settings.HELPDESK_READS_APART = False
    assert not apart.enabled()
