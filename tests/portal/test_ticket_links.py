"""The ticket link in mail to a guest: it opens that one ticket at once (no second
mail), signed and expiring, under the rules of every guest link; clients with a
password get the plain ticket page. Links use HELPDESK_BASE_URL."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import User
from helpdesk.mail.models import OutboundMessage
from helpdesk.portal.models import AccessLink
from helpdesk.portal.ticket_links import make_token
from tickets import services
from tickets.models import Ticket

from ..factories import open_ticket
from .test_open import form_token, valid

TICKET_LINK = re.compile(r"(https?://[^/\s]+)(/access/ticket/[^/\s]+/)")
BASE = "https://help.example.net"


@pytest.fixture
def base_url(settings):
    settings.HELPDESK_BASE_URL = BASE + "/"  # a trailing slash is not doubled
    return BASE


@pytest.fixture
def guest_ticket(client, helpdesk, topic, base_url, django_capture_on_commit_callbacks):
    """A guest opens a ticket in the portal; (the ticket, the guest, the link mailed)."""
    data = valid(topic, form_token(client), name="Gail Guest", email="gail@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/open/", data).status_code == 302
    ticket = Ticket.objects.get()
    gail = User.objects.get(email="gail@example.org")
    [confirmation] = [m for m in mail.outbox if m.to == ["gail@example.org"]]
    base, path = TICKET_LINK.search(confirmation.body).groups()
    assert base == base_url
    assert path in confirmation.alternatives[0][0]  # the HTML part has it too
    client.logout()
    return ticket, gail, path


def test_the_confirmation_link_opens_the_guests_ticket_without_a_second_mail(client, guest_ticket):
    ticket, gail, path = guest_ticket
    mail.outbox.clear()
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.number}/"
    page = client.get(f"/tickets/{ticket.number}/")
    assert page.status_code == 200
    assert "Laptop will not boot" in page.content.decode()
    assert mail.outbox == []  # nothing else to ask for
    link = AccessLink.objects.get()
    assert (link.ticket, link.user, link.email) == (ticket, gail, "gail@example.org")


def test_the_link_opens_exactly_its_ticket(client, helpdesk, guest_ticket):
    ticket, gail, path = guest_ticket
    other = open_ticket(gail, subject="Another of gail's")
    alices = open_ticket(helpdesk.alice, subject="Alice's own")
    client.get(path)
    assert client.get(f"/tickets/{other.number}/").status_code == 404
    assert client.get(f"/tickets/{alices.number}/").status_code == 404
    # the list of tickets is that one ticket
    assert client.get("/tickets/")["Location"] == f"/tickets/{ticket.number}/"


def test_the_link_expires(client, guest_ticket, portal_config):
    ticket, _gail, path = guest_ticket
    later = timezone.now() + dt.timedelta(days=portal_config.ticket_link_days, minutes=1)
    with time_machine.travel(later):
        response = client.get(path)
        assert response.status_code == 404
        assert client.get(f"/tickets/{ticket.number}/").status_code == 302  # to sign in
    assert AccessLink.objects.count() == 0
    just_in_time = timezone.now() + dt.timedelta(days=portal_config.ticket_link_days, minutes=-1)
    with time_machine.travel(just_in_time):
        assert client.get(path).status_code == 302


def test_a_forged_or_altered_token_opens_nothing(client, helpdesk, guest_ticket):
    ticket, _gail, path = guest_ticket
    token = path.split("/")[3]
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/access/ticket/{altered}/").status_code == 404
    # a token for someone else's ticket, signed with another key
    from django.core import signing

    forged = signing.dumps([ticket.pk, helpdesk.bob.pk], salt="other", key="not-our-key")
    assert client.get(f"/access/ticket/{forged}/").status_code == 404
    assert AccessLink.objects.count() == 0


def test_the_link_stops_working_when_the_guest_leaves_the_ticket(client, helpdesk, tickets):
    cast = helpdesk
    ticket = tickets["bob"]
    guest = User.objects.create_user("gus@example.org")
    guest.set_unusable_password()
    guest.save()
    services.ticket_add_collaborator(actor=cast.agent_a, ticket=ticket, user=guest)
    token = make_token(ticket_id=ticket.pk, user_id=guest.pk)
    services.ticket_remove_collaborator(actor=cast.agent_a, ticket=ticket, user=guest)
    assert client.get(f"/access/ticket/{token}/").status_code == 404
    # and a token naming a ticket its user is not on opens nothing either
    token = make_token(ticket_id=tickets["alice"].pk, user_id=guest.pk)
    assert client.get(f"/access/ticket/{token}/").status_code == 404


def test_an_agent_following_the_link_is_sent_to_the_panel(client, helpdesk, guest_ticket):
    _ticket, _gail, path = guest_ticket
    client.force_login(helpdesk.agent_a)
    assert client.get(path).status_code == 403  # the staff notice
    assert AccessLink.objects.count() == 0


def test_another_signed_in_client_is_asked_before_being_signed_out(client, helpdesk, guest_ticket):
    ticket, _gail, path = guest_ticket
    client.force_login(helpdesk.bob)
    page = client.get(path)
    assert page.status_code == 200
    assert "This link is for someone else" in page.content.decode()
    assert AccessLink.objects.count() == 0
    response = client.post(path)
    assert response["Location"] == f"/tickets/{ticket.number}/"
    assert client.get(f"/tickets/{ticket.number}/").status_code == 200


def test_clients_with_a_password_get_the_plain_ticket_page(
    helpdesk, base_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(helpdesk.alice, subject="Printer")
    row = OutboundMessage.objects.get(template="ticket.autoresp", recipient="alice@acme.test")
    assert f"{BASE}/tickets/{ticket.number}/" in row.body_text
    assert "/access/ticket/" not in row.body_text


def test_agents_mail_links_to_the_panel_on_the_base_url(
    helpdesk, base_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(helpdesk.alice, subject="Printer")
    alert = OutboundMessage.objects.filter(template="ticket.alert").first()
    assert alert is not None
    assert f"{BASE}/scp/tickets/{ticket.number}/" in alert.body_text


def test_portal_and_password_mail_link_to_the_base_url(
    helpdesk, tickets, base_url, django_capture_on_commit_callbacks
):
    from accounts.services_passwords import password_reset_send
    from helpdesk.portal.services import access_link_request

    with django_capture_on_commit_callbacks(execute=True):
        access_link_request(email="stranger@nowhere.test", number=tickets["stranger"].number)
    assert f"{BASE}/access/" in mail.outbox[-1].body
    assert password_reset_send(email="alice@acme.test", audience="client") == 1
    assert f"{BASE}/password/reset/" in mail.outbox[-1].body


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("http://127.0.0.1:8123", "/tickets/1/", "http://127.0.0.1:8123/tickets/1/"),
        ("https://h.test/desk/", "/scp/", "https://h.test/desk/scp/"),
        ("https://h.test/desk/", "", "https://h.test/desk"),
        ("https://h.test", "tickets/", "https://h.test/tickets/"),
    ],
)
def test_site_url_joins_the_base_and_a_path_once(settings, base, path, expected):
    from accounts.links import site_url

    settings.HELPDESK_BASE_URL = base
    assert site_url(path) == expected
