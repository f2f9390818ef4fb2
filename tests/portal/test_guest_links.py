"""Guests check a ticket with their email and its number: the portal mails a sign-in
link for that ticket (random, stored hashed, expiring, revoked when the client leaves
the ticket), answers the same whether or not the pair exists, and limits requests."""

import base64
import datetime as dt
import hashlib

import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from helpdesk.portal.models import AccessLink
from helpdesk.portal.services import access_link_request
from tickets import services

from ..factories import status
from .conftest import LINK


def ask(client, email, number, **extra):
    return client.post("/access/", {"email": email, "number": number}, **extra)


def test_a_matching_pair_gets_a_link_by_mail_after_commit(
    client, helpdesk, tickets, django_capture_on_commit_callbacks
):
    ticket = tickets["stranger"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = ask(client, "STRANGER@nowhere.test", f"#{ticket.number}")
    assert response.status_code == 302
    assert response["Location"] == "/access/sent/"
    assert mail.outbox == []  # nothing is sent before the transaction commits
    assert len(callbacks) == 1
    callbacks[0]()
    [message] = mail.outbox
    assert message.to == ["stranger@nowhere.test"]
    assert message.subject == f"Your sign-in link for ticket #{ticket.number}"
    path = LINK.search(message.body).group(1)
    raw = path.split("/")[2]
    assert len(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))) >= 16  # >= 128 bits
    link = AccessLink.objects.get()
    assert link.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in link.token_hash
    assert (link.ticket, link.user, link.email) == (
        ticket,
        helpdesk.stranger,
        "stranger@nowhere.test",
    )
    assert link.expires_at - link.created_at == dt.timedelta(hours=24)
    assert message.alternatives[0][1] == "text/html" and path in message.alternatives[0][0]


def test_the_answer_is_the_same_whether_or_not_the_pair_exists(
    client, helpdesk, tickets, django_capture_on_commit_callbacks
):
    cast = helpdesk
    pages = []
    for email, number in [
        ("stranger@nowhere.test", tickets["stranger"].number),  # matches
        ("stranger@nowhere.test", tickets["bob"].number),  # not their ticket
        ("carl@acme.test", tickets["alice"].number),  # sees it by sharing, not on it
        ("nobody@nowhere.test", tickets["stranger"].number),  # no such person
        ("stranger@nowhere.test", "999999999"),  # no such ticket
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            response = ask(client, email, number)
        pages.append((response.status_code, response["Location"]))
    assert set(pages) == {(302, "/access/sent/")}
    assert [m.to for m in mail.outbox] == [["stranger@nowhere.test"]]
    assert AccessLink.objects.count() == 1
    assert cast.stranger.pk == AccessLink.objects.get().user_id
    sent = client.get("/access/sent/").content.decode()
    assert "If the address and the ticket number match" in sent
    assert tickets["stranger"].subject not in sent


def test_the_link_opens_that_ticket_only_and_the_guest_can_reply_and_close(
    client, helpdesk, tickets, guest_login
):
    cast, ticket = helpdesk, tickets["stranger"]
    guest = guest_login(client, ticket, cast.stranger)
    page = guest.get(f"/tickets/{ticket.number}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "You are viewing this ticket as a guest (stranger@nowhere.test)" in html
    token = page.context["form"]["form_token"].value()
    response = guest.post(
        f"/tickets/{ticket.number}/reply/",
        {
            "form_token": token,
            "message": "Here is the log",
            "attachments": [SimpleUploadedFile("guest.log", b"G")],
        },
    )
    assert response.status_code == 302
    entry = ticket.thread.entries.latest("id")
    assert (entry.poster, entry.body_text) == (cast.stranger, "Here is the log")
    assert list(entry.attachments.values_list("filename", flat=True)) == ["guest.log"]
    guest.post(f"/tickets/{ticket.number}/close/")
    ticket.refresh_from_db()
    assert ticket.state == "closed"
    assert AccessLink.objects.get().last_used_at is not None


def test_removing_a_collaborator_revokes_their_links_at_once(
    client, helpdesk, tickets, guest_login, django_capture_on_commit_callbacks
):
    cast, ticket = helpdesk, tickets["bob"]
    services.ticket_add_collaborator(actor=cast.agent_a, ticket=ticket, user=cast.stranger)
    guest = guest_login(client, ticket, cast.stranger)
    link_path = LINK.search(mail.outbox[-1].body).group(1)
    assert guest.get(f"/tickets/{ticket.number}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_remove_collaborator(actor=cast.agent_a, ticket=ticket, user=cast.stranger)
    assert AccessLink.objects.get().revoked_at is not None
    response = guest.get(f"/tickets/{ticket.number}/")
    assert (response.status_code, response["Location"]) == (
        302,
        f"/login/?next=/tickets/{ticket.number}/",
    )
    assert client.get(link_path).status_code == 404
    # adding them back does not bring the old link back
    services.ticket_add_collaborator(actor=cast.agent_a, ticket=ticket, user=cast.stranger)
    assert client.get(link_path).status_code == 404


def test_a_new_requester_revokes_the_previous_ones_links(
    client, helpdesk, tickets, guest_login, django_capture_on_commit_callbacks
):
    cast, ticket = helpdesk, tickets["stranger"]
    guest = guest_login(client, ticket, cast.stranger)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_edit(actor=cast.agent_a, ticket=ticket, requester=cast.bob)
    assert AccessLink.objects.get().revoked_at is not None
    assert guest.get(f"/tickets/{ticket.number}/").status_code == 302


def test_links_expire(client, helpdesk, tickets, guest_login, portal_config):
    portal_config.access_link_hours = 2
    portal_config.save()
    cast, ticket = helpdesk, tickets["stranger"]
    guest = guest_login(client, ticket, cast.stranger)
    link_path = LINK.search(mail.outbox[-1].body).group(1)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2, minutes=1)):
        response = guest.get(f"/tickets/{ticket.number}/")
        assert (response.status_code, response["Location"]) == (
            302,
            f"/login/?next=/tickets/{ticket.number}/",
        )
        assert client.get(link_path).status_code == 404


def test_no_link_for_deleted_tickets_or_inactive_people(
    client, helpdesk, tickets, django_capture_on_commit_callbacks, nothing_written
):
    cast = helpdesk
    services.ticket_set_status(actor=cast.admin, ticket=tickets["bob"], status=status("Deleted"))
    cast.stranger.is_active = False
    cast.stranger.save()
    with django_capture_on_commit_callbacks(execute=True), nothing_written():
        ask(client, "bob@globex.test", tickets["bob"].number)
        ask(client, "stranger@nowhere.test", tickets["stranger"].number)
    assert (AccessLink.objects.count(), mail.outbox) == (0, [])


def test_requests_are_limited_per_address_whatever_the_pair(
    client, helpdesk, tickets, portal_config, django_capture_on_commit_callbacks, nothing_written
):
    portal_config.access_links_per_ip_per_hour = 2
    portal_config.save()
    ticket = tickets["stranger"]
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(client, "nobody@nowhere.test", "1")["Location"] == "/access/sent/"
        assert ask(client, "stranger@nowhere.test", ticket.number)["Location"] == "/access/sent/"
        with nothing_written():
            response = ask(client, "stranger@nowhere.test", ticket.number)
    assert response.status_code == 429
    assert "Too many requests from your network" in response.content.decode()
    assert (AccessLink.objects.count(), len(mail.outbox)) == (1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        other = ask(client, "stranger@nowhere.test", ticket.number, REMOTE_ADDR="10.1.1.1")
    assert other["Location"] == "/access/sent/"
    assert AccessLink.objects.count() == 2


def test_a_signed_in_client_following_someone_elses_link_is_asked_first(
    client, helpdesk, tickets, django_capture_on_commit_callbacks
):
    cast, ticket = helpdesk, tickets["stranger"]
    with django_capture_on_commit_callbacks(execute=True):
        access_link_request(email="stranger@nowhere.test", number=ticket.number)
    path = LINK.search(mail.outbox[-1].body).group(1)
    client.force_login(cast.bob)
    page = client.get(path)  # a page elsewhere loading the link changes nothing
    assert page.status_code == 200
    assert "This link is for someone else" in page.content.decode()
    assert client.session["_auth_user_id"] == str(cast.bob.pk)
    response = client.post(path)
    assert response["Location"] == f"/tickets/{ticket.number}/"
    assert "_auth_user_id" not in client.session
    assert client.get(f"/tickets/{tickets['bob'].number}/").status_code == 404
    assert client.get("/tickets/")["Location"] == f"/tickets/{ticket.number}/"


def test_the_login_page_offers_the_guest_form_with_the_number_of_the_page_asked(
    client, helpdesk, tickets
):
    number = tickets["stranger"].number
    response = client.get(f"/tickets/{number}/")
    login = client.get(response["Location"])
    assert f'value="{number}"' in login.content.decode()
    outside = client.get("/access/?next=https://evil.test/tickets/1/")
    assert outside.context["form"]["number"].value() == ""


def test_signing_out_ends_a_guest_session(client, helpdesk, tickets, guest_login):
    ticket = tickets["stranger"]
    guest = guest_login(client, ticket, helpdesk.stranger)
    assert guest.post("/logout/")["Location"] == "/"
    assert guest.get(f"/tickets/{ticket.number}/").status_code == 302
