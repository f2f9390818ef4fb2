"""What a client may do with a ticket they see is decided once
(tickets.permissions.client_refusal): the services enforce it and the portal offers
exactly what it allows (client_actions), so the page never shows a button the service
would refuse, nor hides one it would take."""

import contextlib

import pytest
from django.urls import reverse

from accounts.errors import DomainError
from threads.models import ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import HelpdeskSettings, State, Ticket
from tickets.permissions import CLIENT_CLOSE, CLIENT_REPLY, client_actions

from ..factories import open_ticket, status

pytestmark = pytest.mark.django_db


def _closed(cast, ticket, name="Closed"):
    return services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status(name))


def _archived(cast, ticket):
    return services.ticket_set_status(
        actor=cast.admin, ticket=_closed(cast, ticket), status=status("Archived")
    )


def _no_reopen(cast, ticket):
    closed = status("Closed")
    closed.allow_reopen = False
    closed.save()
    return _closed(cast, ticket)


def _reopen_without_a_target(cast, ticket):
    """The status allows reopening but names no status to reopen to, and no default
    status is set: a message cannot reopen it (the portal once offered the form)."""
    ticket = _closed(cast, ticket)
    config = HelpdeskSettings.load()
    config.default_status = None
    config.save()
    return ticket


def _no_client_close(cast, ticket):
    config = HelpdeskSettings.load()
    config.clients_can_close = False
    config.save()
    return ticket


# case: (who looks: "alice" the requester or "colleague" who sees it through Acme,
#        how the ticket is made ready, what they may do)
CASES = {
    "own open ticket": ("alice", None, {CLIENT_REPLY, CLIENT_CLOSE}),
    "shared open ticket": ("colleague", None, {CLIENT_REPLY}),
    "clients may not close": ("alice", _no_client_close, {CLIENT_REPLY}),
    "closed, may reopen": ("alice", _closed, {CLIENT_REPLY}),
    "closed, may not reopen": ("alice", _no_reopen, set()),
    "closed, nothing to reopen to": ("alice", _reopen_without_a_target, set()),
    "archived": ("alice", _archived, set()),
}


def _ready(cast, prepare):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    return Ticket.objects.get(pk=(prepare(cast, ticket) if prepare else ticket).pk)


def _viewer(cast, who):
    return cast.alice if who == "alice" else cast.alice_colleague


@pytest.mark.parametrize("case", CASES)
def test_the_portal_offers_what_the_one_rule_allows(client, cast, case):
    who, prepare, allowed = CASES[case]
    ticket = _ready(cast, prepare)
    viewer = _viewer(cast, who)
    client.force_login(viewer)

    html = client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()

    assert client_actions(viewer, ticket) == allowed
    reply_url = reverse("portal:ticket_reply", args=[ticket.number])
    close_url = reverse("portal:ticket_close", args=[ticket.number])
    assert (f'action="{reply_url}"' in html) == (CLIENT_REPLY in allowed)
    assert (f'action="{close_url}"' in html) == (CLIENT_CLOSE in allowed)


@pytest.mark.parametrize("case", CASES)
def test_the_message_service_takes_exactly_what_the_rule_allows(cast, case):
    who, prepare, allowed = CASES[case]
    ticket = _ready(cast, prepare)
    entries = ticket.thread.entries.count()

    try:
        services.ticket_post_message(actor=_viewer(cast, who), ticket=ticket, body="Any news?")
    except DomainError as exc:
        refused = exc
    else:
        refused = None

    assert (refused is None) == (CLIENT_REPLY in allowed), refused
    messages = ticket.thread.entries.filter(kind=ThreadEntry.Kind.MESSAGE).count()
    assert ticket.thread.entries.count() == entries + (refused is None)
    assert messages == 1 + (refused is None)


@pytest.mark.parametrize("case", CASES)
def test_the_close_service_takes_exactly_what_the_rule_allows(cast, case):
    who, prepare, allowed = CASES[case]
    ticket = _ready(cast, prepare)
    before = (ticket.state, ticket.status_id, ticket.version)
    events = ticket.thread.events.filter(kind=ThreadEvent.Kind.STATUS_CHANGED).count()

    try:
        services.ticket_client_close(actor=_viewer(cast, who), ticket=ticket)
    except DomainError as exc:
        refused = exc
    else:
        refused = None

    assert (refused is None) == (CLIENT_CLOSE in allowed), refused
    fresh = Ticket.objects.get(pk=ticket.pk)
    changes = ticket.thread.events.filter(kind=ThreadEvent.Kind.STATUS_CHANGED).count() - events
    if refused is None:
        assert (fresh.state, fresh.status.name, changes) == (State.CLOSED, "Closed", 1)
    else:
        assert (fresh.state, fresh.status_id, fresh.version, changes) == (*before, 0)


@pytest.mark.parametrize("case", CASES)
def test_the_portal_close_button_does_what_the_rule_says(client, cast, case, nothing_written):
    """Posting the portal's close form (also from a stale page) closes exactly when the
    rule allows it; otherwise the refusal is shown and nothing changes."""
    who, prepare, allowed = CASES[case]
    ticket = _ready(cast, prepare)
    client.force_login(_viewer(cast, who))
    before = (ticket.state, ticket.version, ticket.thread.events.count())

    with contextlib.nullcontext() if CLIENT_CLOSE in allowed else nothing_written():
        response = client.post(reverse("portal:ticket_close", args=[ticket.number]), follow=True)

    fresh = Ticket.objects.get(pk=ticket.pk)
    html = response.content.decode()
    if CLIENT_CLOSE in allowed:
        assert fresh.state == State.CLOSED and f"Ticket #{ticket.number} is closed." in html
    else:
        assert (fresh.state, fresh.version, fresh.thread.events.count()) == before
        assert f"Ticket #{ticket.number} is closed." not in html
        assert response.redirect_chain[-1][0] == reverse("portal:ticket", args=[ticket.number])
