"""Ticket.state mirrors its status's state: a status that tickets (or the settings, or
another status's reopening) depend on keeps its state, through the Django admin and the
API alike (tickets.services.ticket_status_save); everything else about it may change. After
every attempt, refused or not, no ticket's state differs from its status's."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db.models import F
from django.db.models.signals import post_save
from django.urls import reverse

from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from tickets import services
from tickets.models import HelpdeskSettings, State, Ticket, TicketStatus

from ..api.conftest import Api, problem
from ..factories import open_ticket, status


def diverged() -> int:
    """Tickets whose state is not their status's (the invariant: always 0)."""
    return Ticket.objects.exclude(state=F("status__state")).count()


@pytest.fixture
def pending(cast):
    """A custom open status that two tickets carry."""
    pending = TicketStatus.objects.create(name="Pending vendor", state=State.OPEN, sort=3)
    for requester in (cast.alice, cast.bob):
        ticket = open_ticket(requester, department=cast.dept_a)
        services.ticket_set_status(actor=cast.admin, ticket=ticket, status=pending)
    return pending


@pytest.fixture
def unused(db):
    return TicketStatus.objects.create(name="Waiting on parts", state=State.OPEN, sort=4)


def form_data(s: TicketStatus, **changes) -> dict:
    data = {
        "name": s.name,
        "state": s.state,
        "description": s.description,
        "allow_reopen": "on" if s.allow_reopen else "",
        "reopen_status": s.reopen_status_id or "",
        "pauses_sla": "on" if s.pauses_sla else "",
        "sort": s.sort,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


def change_url(s: TicketStatus) -> str:
    return reverse("admin:tickets_ticketstatus_change", args=[s.pk])


# --- the Django admin -----------------------------------------------------------------


def test_the_admin_refuses_a_state_change_of_a_status_in_use(
    admin_client, pending, nothing_written
):
    with nothing_written():
        response = admin_client.post(
            change_url(pending), form_data(pending, name="Renamed", state=State.CLOSED)
        )

    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert errors == {"state": ["The state of Pending vendor cannot change: 2 tickets have it."]}
    pending.refresh_from_db()
    assert (pending.name, pending.state) == ("Pending vendor", State.OPEN)  # nothing saved
    assert not LogEntry.objects.exists()
    assert Ticket.objects.filter(status=pending, state=State.OPEN).count() == 2
    assert diverged() == 0


def test_the_admin_renames_a_status_in_use(admin_client, pending):
    response = admin_client.post(change_url(pending), form_data(pending, name="Vendor"))

    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.name, pending.state) == ("Vendor", State.OPEN)
    assert diverged() == 0


def test_the_admin_changes_the_state_of_an_unused_status(admin_client, pending, unused):
    response = admin_client.post(change_url(unused), form_data(unused, state=State.CLOSED))

    assert response.status_code == 302
    unused.refresh_from_db()
    assert unused.state == State.CLOSED
    assert diverged() == 0


def test_the_admin_saves_nothing_when_the_service_refuses_after_the_form(
    admin_client, pending, monkeypatch, nothing_written
):
    """The form's check passed (a ticket took the status meanwhile): the service's refusal
    undoes the whole admin transaction, its log entry included."""
    monkeypatch.setattr("tickets.admin.status_state_fixed_by", lambda status, state: [])

    with nothing_written():
        response = admin_client.post(
            change_url(pending), form_data(pending, name="Renamed", state=State.CLOSED)
        )

    assert response.status_code == 302 and response["Location"] == change_url(pending)
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [
        "Not saved: The status Pending vendor stays open: 2 tickets have it. "
        "Create a closed status and move the tickets to it instead."
    ]
    pending.refresh_from_db()
    assert (pending.name, pending.state) == ("Pending vendor", State.OPEN)
    assert not LogEntry.objects.exists()
    assert diverged() == 0


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def api_admin(cast):
    return Api(cast).agent(cast.admin)


def test_the_api_refuses_a_state_change_of_a_status_in_use(api_admin, pending, nothing_written):
    with nothing_written():
        response = api_admin.patch(
            f"/api/v1/statuses/{pending.pk}/",
            {"name": "Renamed", "state": State.CLOSED},
            format="json",
        )

    assert response.status_code == 409
    body = problem(response)
    assert body["code"] == "status_in_use"
    assert body["detail"] == (
        "The status Pending vendor stays open: 2 tickets have it. "
        "Create a closed status and move the tickets to it instead."
    )
    pending.refresh_from_db()
    assert (pending.name, pending.state) == ("Pending vendor", State.OPEN)
    assert diverged() == 0


def test_the_api_renames_a_status_in_use_and_changes_an_unused_ones_state(
    api_admin, pending, unused
):
    renamed = api_admin.patch(f"/api/v1/statuses/{pending.pk}/", {"name": "Vendor"}, format="json")
    same_state = api_admin.patch(
        f"/api/v1/statuses/{pending.pk}/", {"state": State.OPEN}, format="json"
    )
    closed = api_admin.patch(
        f"/api/v1/statuses/{unused.pk}/", {"state": State.CLOSED}, format="json"
    )

    assert renamed.status_code == 200 and renamed.json()["name"] == "Vendor"
    assert same_state.status_code == 200
    assert closed.status_code == 200 and closed.json()["state"] == State.CLOSED
    assert TicketStatus.objects.get(pk=unused.pk).state == State.CLOSED
    assert diverged() == 0


def test_an_agent_who_is_not_an_admin_changes_no_status(cast, pending, nothing_written):
    response = (
        Api(cast)
        .agent(cast.agent_a)
        .patch(f"/api/v1/statuses/{pending.pk}/", {"name": "Mine"}, format="json")
    )

    assert response.status_code == 403
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_status_save(actor=cast.agent_a, instance=pending, data={"name": "Mine"})
    assert refusal.value.code == "permission_denied"
    assert TicketStatus.objects.get(pk=pending.pk).name == "Pending vendor"


# --- the service -----------------------------------------------------------------------


def test_a_status_the_settings_or_a_reopening_depend_on_keeps_its_state(
    cast, unused, nothing_written
):
    resolved = status("Resolved")
    HelpdeskSettings.objects.filter(pk=1).update(default_status=unused, closed_status=resolved)
    with nothing_written(), pytest.raises(Conflict) as default:
        services.ticket_status_save(actor=cast.admin, instance=unused, data={"state": "closed"})
    with nothing_written(), pytest.raises(Conflict) as closed:
        services.ticket_status_save(actor=cast.admin, instance=resolved, data={"state": "open"})
    assert str(default.value) == (
        "The status Waiting on parts stays open: it is the default status for new tickets "
        "(an open one). Create a closed status and move the tickets to it instead."
    )
    assert str(closed.value) == (
        "The status Resolved stays closed: it is the status for merged and client-closed "
        "tickets (a closed one). Create an open status and move the tickets to it instead."
    )

    HelpdeskSettings.objects.filter(pk=1).update(default_status=None)
    TicketStatus.objects.filter(name="Closed").update(reopen_status=unused)
    with nothing_written(), pytest.raises(Conflict) as reopening:
        services.ticket_status_save(actor=cast.admin, instance=unused, data={"state": "closed"})
    assert reopening.value.code == "status_in_use"
    assert str(reopening.value) == (
        "The status Waiting on parts stays open: the status Closed reopens to it (an open one). "
        "Create a closed status and move the tickets to it instead."
    )
    assert TicketStatus.objects.get(pk=unused.pk).state == State.OPEN


def test_bad_input_is_refused_and_changes_nothing(cast, unused, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as bad_state:
        services.ticket_status_save(actor=cast.admin, instance=unused, data={"state": "bogus"})
    with nothing_written(), pytest.raises(ValidationFailed) as unknown:
        services.ticket_status_save(actor=cast.admin, instance=unused, data={"tickets": []})
    with nothing_written(), pytest.raises(ValidationFailed) as taken:
        services.ticket_status_save(actor=cast.admin, instance=unused, data={"name": "Closed"})
    assert "state" in bad_state.value.fields and "name" in taken.value.fields
    assert unknown.value.code == "invalid"
    unused.refresh_from_db()
    assert (unused.name, unused.state) == ("Waiting on parts", State.OPEN)


def test_a_failure_half_way_rolls_back_the_status_and_the_configuration_version(
    cast, unused, nothing_written
):
    version = HelpdeskSettings.objects.get(pk=1).config_version

    class Boom(Exception):
        pass

    def fail_after_the_write(sender, instance, **kwargs):
        raise Boom("after the status row was written")

    post_save.connect(fail_after_the_write, sender=TicketStatus, dispatch_uid="t.boom")
    try:
        with nothing_written(), pytest.raises(Boom):
            services.ticket_status_save(
                actor=cast.admin, instance=unused, data={"state": "closed", "name": "Gone"}
            )
    finally:
        post_save.disconnect(sender=TicketStatus, dispatch_uid="t.boom")

    unused.refresh_from_db()
    assert (unused.name, unused.state) == ("Waiting on parts", State.OPEN)
    assert HelpdeskSettings.objects.get(pk=1).config_version == version
    assert diverged() == 0


def test_the_lifecycle_keeps_every_ticket_in_its_statuss_state(cast, pending):
    ticket = Ticket.objects.filter(status=pending).first()
    for name in ("Closed", "Archived", "Closed", "Open", "Deleted", "Open"):
        ticket = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status(name))
        assert diverged() == 0, name
