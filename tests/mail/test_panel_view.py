"""What agents see of the mail channel's judgement in the panel: the sender verdict on
each emailed entry, and addresses that bounced, with the way to mail them again."""

import pytest
from django.test import Client

from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import UndeliverableAddress

from .conftest import authenticated, corpus, message

pytestmark = pytest.mark.usefixtures("authserv")


def page(agent, ticket) -> str:
    client = Client()
    client.force_login(agent)
    return client.get(f"/scp/tickets/{ticket.number}/").content.decode()


def test_each_emailed_entry_shows_whether_its_sender_was_verified(helpdesk):
    ticket = ingest(authenticated(corpus("plain.eml")), channel="email").ticket
    other = ingest(message(message_id="<u@acme.test>"), channel="email").ticket

    assert '<span class="sender-check" ' in page(helpdesk.agent_a, ticket)
    assert ">verified: dmarc=pass</span>" in page(helpdesk.agent_a, ticket)
    html = page(helpdesk.agent_a, other)
    assert '<span class="sender-check badge warn" ' in html
    assert ">unverified sender: no trusted Authentication-Results</span>" in html


def test_an_undeliverable_requester_is_flagged_and_an_agent_mails_them_again(helpdesk):
    ticket = ingest(authenticated(corpus("plain.eml")), channel="email").ticket
    UndeliverableAddress.objects.create(address="alice@acme.test", reason="5.1.1 User unknown")
    client = Client()
    client.force_login(helpdesk.agent_a)

    html = client.get(f"/scp/tickets/{ticket.number}/").content.decode()
    assert 'title="5.1.1 User unknown">undeliverable: no mail is sent</span>' in html

    url = f"/scp/tickets/{ticket.number}/undeliverable/{helpdesk.alice.pk}/clear/"
    response = client.post(url)

    assert response.status_code == 302
    assert not UndeliverableAddress.objects.exists()


def test_only_people_of_the_ticket_can_be_cleared_there(helpdesk, nothing_written):
    ticket = ingest(authenticated(corpus("plain.eml")), channel="email").ticket
    UndeliverableAddress.objects.create(address="bob@globex.test", reason="5.1.1")
    client = Client()
    client.force_login(helpdesk.agent_a)

    with nothing_written():
        response = client.post(
            f"/scp/tickets/{ticket.number}/undeliverable/{helpdesk.bob.pk}/clear/"
        )

    assert response.status_code == 404
    assert UndeliverableAddress.objects.count() == 1


def test_an_admin_clears_undeliverable_addresses_with_the_admin_action(helpdesk):
    from django.urls import reverse

    row = UndeliverableAddress.objects.create(address="alice@acme.test", reason="5.1.1")
    client = Client()
    client.force_login(helpdesk.admin)

    response = client.post(
        reverse("admin:helpdesk_mail_undeliverableaddress_changelist"),
        {"action": "clear", "_selected_action": [row.pk]},
    )

    assert response.status_code == 302
    assert not UndeliverableAddress.objects.exists()
