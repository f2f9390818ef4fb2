"""Staff sessions end after the idle time and the absolute lifetime (settings), on the
panel, the admin and the API's session authentication; clients keep theirs."""

import datetime as dt

import time_machine
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from .conftest import signed_in

HOUR = dt.timedelta(hours=1)


def test_an_idle_agent_session_ends_after_eight_hours(cast):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = signed_in(cast.agent_a)
    with time_machine.travel(start + 7 * HOUR + dt.timedelta(minutes=59), tick=False):
        assert client.get("/scp/").status_code == 200
    later = start + 7 * HOUR + dt.timedelta(minutes=59) + 8 * HOUR + dt.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = client.get("/scp/", follow=True)
        assert response.redirect_chain[0] == ("/scp/login/?next=%2Fscp%2F", 302)
        assert SESSION_KEY not in client.session
        assert [str(m) for m in response.context["messages"]] == [
            "You were signed out after a long time without activity. Sign in again."
        ]


def test_activity_does_not_outlive_the_absolute_lifetime(cast):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = signed_in(cast.agent_a)
    for hours in range(4, 24, 4):  # a request every 4 hours: never idle
        with time_machine.travel(start + hours * HOUR, tick=False):
            assert client.get("/scp/").status_code == 200
    with time_machine.travel(start + 24 * HOUR + dt.timedelta(seconds=1), tick=False):
        assert client.get("/scp/").status_code == 302
        assert SESSION_KEY not in client.session


def test_the_limits_are_settings(cast, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 600
    settings.STAFF_SESSION_MAX_SECONDS = 3600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = signed_in(cast.agent_a)
    with time_machine.travel(start + dt.timedelta(minutes=9), tick=False):
        assert client.get("/scp/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=False):
        assert client.get("/scp/").status_code == 302


def test_the_admin_and_the_api_see_the_session_end_too(cast):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        admin, agent = signed_in(cast.admin), signed_in(cast.agent_a)
        assert admin.get("/admin/").status_code == 200
        assert agent.get("/api/v1/tickets/").status_code == 200
    with time_machine.travel(start + 9 * HOUR, tick=False):
        response = admin.get("/admin/")
        assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")
        assert SESSION_KEY not in admin.session  # and /admin/login/ sends to /scp/login/
        refused = agent.get("/api/v1/tickets/")
        assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
        assert SESSION_KEY not in agent.session


def test_a_panel_sign_in_starts_the_clock_again(cast):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = signed_in(cast.agent_a)
    with time_machine.travel(start + 9 * HOUR, tick=False):
        client.post("/scp/login/", {"login": "alex", "password": "secret"})
        assert client.get("/scp/").status_code == 200


def test_clients_sessions_keep_djangos_lifetime(cast):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = signed_in(cast.alice)
    with time_machine.travel(start + 30 * HOUR, tick=False):
        assert client.get("/tickets/").status_code == 200
        assert client.session[SESSION_KEY] == str(cast.alice.pk)


def test_the_polled_queue_counts_do_not_keep_an_idle_session_alive(cast):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = signed_in(cast.agent_a)
    for hours in range(1, 9):  # a tab left open polls all night
        with time_machine.travel(start + hours * HOUR, tick=False):
            assert client.get("/scp/queues/counts/", HTTP_HX_REQUEST="true").status_code == 200
    with time_machine.travel(start + 8 * HOUR + dt.timedelta(seconds=1), tick=False):
        response = client.get("/scp/queues/counts/", HTTP_HX_REQUEST="true")
        assert SESSION_KEY not in client.session
    # the fragment does not swap the sign-in page into the sidebar: the page goes there
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/scp/login/?next=%2Fscp%2F"


def test_an_htmx_request_of_a_signed_out_agent_sends_the_page_to_sign_in(client, db):
    response = client.get(
        "/scp/queues/counts/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/scp/queues/mine/?sort=-created",
    )
    assert response["HX-Redirect"] == "/scp/login/?next=%2Fscp%2Fqueues%2Fmine%2F%3Fsort%3D-created"
    plain = client.get("/scp/queues/counts/")
    assert (plain.status_code, plain["Location"]) == (
        302,
        "/scp/login/?next=%2Fscp%2Fqueues%2Fcounts%2F",
    )
