"""A client's tickets in the portal: the list, the ticket page (public thread only),
replies with attachments, reopening and closing."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from threads.models import ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import CustomField, CustomForm, HelpdeskSettings, TicketFieldValue

from ..factories import open_ticket, status
from ..samples import PNG

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def reply_token(client, ticket) -> str:
    return TOKEN.search(client.get(f"/tickets/{ticket.number}/").content.decode()).group(1)


def test_the_list_shows_own_shared_and_collaborated_tickets_only(client, helpdesk, tickets):
    cast = helpdesk
    services.ticket_add_collaborator(actor=cast.agent_a, ticket=tickets["bob"], user=cast.stranger)
    client.force_login(cast.alice)
    page = client.get("/tickets/")
    numbers = [t.number for t in page.context["page"]]
    assert numbers == [tickets["colleague"].number, tickets["alice"].number]
    html = page.content.decode()
    assert "Carl&#x27;s laptop" in html and "Bob&#x27;s screen" not in html
    client.force_login(cast.bob)
    assert [t.number for t in client.get("/tickets/").context["page"]] == [tickets["bob"].number]
    client.force_login(cast.stranger)  # their own and bob's, as a collaborator
    assert [t.number for t in client.get("/tickets/").context["page"]] == [
        tickets["stranger"].number,
        tickets["bob"].number,
    ]


def test_the_list_filters_by_state_and_text(client, helpdesk, tickets):
    cast = helpdesk
    services.ticket_set_status(actor=cast.alice, ticket=tickets["alice"], status=status("Closed"))
    client.force_login(cast.alice)
    numbers = lambda q: [t.number for t in client.get("/tickets/" + q).context["page"]]  # noqa: E731
    assert numbers("") == [tickets["colleague"].number]
    assert numbers("?state=closed") == [tickets["alice"].number]
    # newest update first: closing alice's ticket was the last thing that happened
    assert numbers("?state=all") == [tickets["alice"].number, tickets["colleague"].number]
    assert numbers("?state=all&q=printer") == [tickets["alice"].number]
    assert numbers(f"?state=all&q=%23{tickets['colleague'].number}") == [
        tickets["colleague"].number
    ]
    assert numbers("?state=bogus") == [tickets["colleague"].number]


def test_the_list_costs_the_same_queries_for_3_or_30_tickets(client, helpdesk):
    cast = helpdesk
    client.force_login(cast.alice)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/tickets/?state=all").status_code == 200
        return len(ctx)

    for i in range(3):
        open_ticket(cast.alice, subject=f"t{i}")
    count()  # the first request creates the settings rows
    few = count()
    for i in range(27):
        open_ticket(cast.alice_colleague if i % 2 else cast.alice, subject=f"more {i}")
    assert count() == few
    assert few <= 8


def test_the_ticket_page_shows_the_public_thread_never_notes_or_internals(
    client, helpdesk, tickets
):
    cast = helpdesk
    ticket = tickets["alice"]
    form = CustomForm.objects.create(name="F")
    shown = CustomField.objects.create(form=form, name="serial", label="Serial number")
    hidden = CustomField.objects.create(
        form=form, name="cost", label="Cost centre", client_visible=False
    )
    TicketFieldValue.objects.create(ticket=ticket, field=shown, value="SN-42")
    TicketFieldValue.objects.create(ticket=ticket, field=hidden, value="CC-SECRET")
    services.ticket_post_note(actor=cast.agent_a, ticket=ticket, body="NOTE-SECRET")
    services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Try turning it off.")
    services.ticket_assign(actor=cast.agent_a, ticket=ticket, agent=cast.manager_a)
    client.force_login(cast.alice)
    response = client.get(f"/tickets/{ticket.number}/")
    html = response.content.decode()
    assert [e.kind for e in response.context["entries"]] == ["message", "response"]
    assert "It is on fire." in html and "Try turning it off." in html
    assert "NOTE-SECRET" not in html and "CC-SECRET" not in html and "Cost centre" not in html
    assert "Serial number" in html and "SN-42" in html
    assert cast.manager_a.display_name not in html  # the assignment is internal
    assert "Open" in html  # the status
    assert cast.agent_a.display_name in html  # who answered


def test_last_update_ignores_internal_activity(client, helpdesk, tickets):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    cast, ticket = helpdesk, tickets["alice"]
    created = ticket.created_at
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        services.ticket_post_note(actor=cast.agent_a, ticket=ticket, body="later")
    client.force_login(cast.alice)
    assert client.get(f"/tickets/{ticket.number}/").context["last_update"] == created


def test_a_client_replies_with_attachments_once(client, helpdesk, tickets):
    cast, ticket = helpdesk, tickets["colleague"]  # alice replies on her colleague's
    client.force_login(cast.alice)
    data = {
        "form_token": reply_token(client, ticket),
        "message": "Same here.",
        "attachments": [SimpleUploadedFile("log.txt", b"L", content_type="text/plain")],
    }
    response = client.post(f"/tickets/{ticket.number}/reply/", data)
    entry = ticket.thread.entries.latest("id")
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.number}/#entry-{entry.pk}"
    assert (entry.kind, entry.poster, entry.body_text) == ("message", cast.alice, "Same here.")
    assert list(entry.attachments.values_list("filename", flat=True)) == ["log.txt"]
    assert ticket.thread.events.filter(kind="message").get().channel == "portal"
    data["attachments"] = [SimpleUploadedFile("log.txt", b"L", content_type="text/plain")]
    again = client.post(f"/tickets/{ticket.number}/reply/", data)  # double click
    assert again["Location"] == response["Location"]
    assert ticket.thread.entries.filter(kind="message").count() == 2
    html = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert f"/tickets/{ticket.number}/files/" in html and "log.txt" in html


def test_an_empty_reply_is_refused_with_nothing_written(client, helpdesk, tickets, nothing_written):
    ticket = tickets["alice"]
    client.force_login(helpdesk.alice)
    with nothing_written():
        response = client.post(
            f"/tickets/{ticket.number}/reply/",
            {"form_token": reply_token(client, ticket), "message": "  "},
        )
    assert response.status_code == 400
    assert response.context["form"].errors == {"message": ["Write a message or attach a file."]}
    assert ticket.thread.entries.count() == 1
    assert not ThreadEvent.objects.filter(kind="message").exists()


def test_a_reply_reopens_a_closed_ticket_when_its_status_allows(client, helpdesk, tickets):
    cast, ticket = helpdesk, tickets["alice"]
    services.ticket_set_status(actor=cast.alice, ticket=ticket, status=status("Closed"))
    client.force_login(cast.alice)
    html = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "your reply reopens it" in html
    client.post(
        f"/tickets/{ticket.number}/reply/",
        {"form_token": reply_token(client, ticket), "message": "Back again"},
    )
    ticket.refresh_from_db()
    assert (ticket.state, ticket.reopen_count) == ("open", 1)


def test_a_reply_to_a_ticket_that_cannot_reopen_is_refused(
    client, helpdesk, tickets, nothing_written
):
    cast, ticket = helpdesk, tickets["alice"]
    closed = status("Closed")
    token_client = client
    token_client.force_login(cast.alice)
    token = reply_token(token_client, ticket)  # the page was loaded while it was open
    closed.allow_reopen = False
    closed.save()
    services.ticket_set_status(actor=cast.agent_a, ticket=ticket, status=closed)
    with nothing_written():
        response = client.post(
            f"/tickets/{ticket.number}/reply/", {"form_token": token, "message": "x"}
        )
    assert response.context["form"].non_field_errors() == [
        "This ticket is closed and cannot be reopened. Open a new ticket."
    ]
    assert ticket.thread.entries.count() == 1
    html = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert 'name="message"' not in html and "open a new ticket" in html


def test_the_requester_closes_their_ticket_when_the_setting_allows(client, helpdesk, tickets):
    cast, ticket = helpdesk, tickets["alice"]
    client.force_login(cast.alice)
    assert "Close this ticket" in client.get(f"/tickets/{ticket.number}/").content.decode()
    response = client.post(f"/tickets/{ticket.number}/close/")
    assert response["Location"] == f"/tickets/{ticket.number}/"
    ticket.refresh_from_db()
    assert (ticket.state, ticket.status.name) == ("closed", "Closed")
    event = ThreadEvent.objects.get(thread=ticket.thread, kind="status_changed")
    assert (event.actor, event.channel) == (cast.alice, "portal")


def test_others_and_everyone_when_the_setting_is_off_cannot_close(
    client, helpdesk, tickets, nothing_written
):
    cast, ticket = helpdesk, tickets["colleague"]
    client.force_login(cast.alice)  # sees her colleague's ticket, is not its requester
    assert "Close this ticket" not in client.get(f"/tickets/{ticket.number}/").content.decode()
    with nothing_written():
        response = client.post(f"/tickets/{ticket.number}/close/", follow=True)
    assert "You may not change the status of this ticket." in response.content.decode()
    config = HelpdeskSettings.load()
    config.clients_can_close = False
    config.save()
    own = tickets["alice"]
    assert "Close this ticket" not in client.get(f"/tickets/{own.number}/").content.decode()
    with nothing_written():
        client.post(f"/tickets/{own.number}/close/")
    for t in (ticket, own):
        t.refresh_from_db()
        assert t.state == "open"
    assert not ThreadEvent.objects.filter(kind="status_changed").exists()


@pytest.mark.parametrize(
    "content,content_type,disposition",
    [
        (PNG, "image/png", "inline"),
        (b"<svg onload=alert(1)>", "image/png", "attachment"),  # the bytes disagree
        (b"<svg onload=alert(1)>", "text/html", "attachment"),
        (b"<svg onload=alert(1)>", "image/svg+xml", "attachment"),
    ],
)
def test_attachments_download_safely(client, helpdesk, content, content_type, disposition):
    from ..factories import attachment

    cast = helpdesk
    ticket = open_ticket(cast.alice, files=[attachment("f", content, content_type)])
    a = ThreadEntry.objects.get(thread=ticket.thread).attachments.get()
    client.force_login(cast.alice)
    response = client.get(f"/tickets/{ticket.number}/files/{a.pk}/f")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(disposition)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    if disposition == "attachment":
        assert response["Content-Type"] == "application/octet-stream"


def test_dates_are_shown_in_the_clients_time_zone(client, helpdesk, tickets):
    import zoneinfo

    from django.utils import timezone

    cast, ticket = helpdesk, tickets["alice"]
    cast.alice.timezone = "Asia/Tokyo"
    cast.alice.save()
    client.force_login(cast.alice)
    html = client.get(f"/tickets/{ticket.number}/").content.decode()
    from django.utils import dateformat
    from django.utils.formats import get_format

    local = timezone.localtime(ticket.created_at, timezone=zoneinfo.ZoneInfo("Asia/Tokyo"))
    # the language's own short format (English here), then the zone
    shown = dateformat.format(local, get_format("SHORT_DATETIME_FORMAT")) + " JST"
    assert shown in html
    assert local.strftime("%-d") in shown  # the Tokyo day, not the UTC one

    # in German the same moment is written the German way
    client.cookies["django_language"] = "de"
    html = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert local.strftime("%d.%m.%Y %H:%M") + " JST" in html


def test_the_ticket_page_costs_the_same_queries_for_2_or_20_entries(client, helpdesk, tickets):
    from ..factories import attachment

    cast, ticket = helpdesk, tickets["alice"]
    client.force_login(cast.alice)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/tickets/{ticket.number}/").status_code == 200
        return len(ctx)

    count()
    few = count()
    for i in range(10):
        services.ticket_post_reply(
            actor=cast.agent_a, ticket=ticket, body=f"r{i}", files=[attachment(f"r{i}.txt")]
        )
        services.ticket_post_message(actor=cast.alice, ticket=ticket, body=f"m{i}")
    assert count() == few


def test_a_hostile_content_id_in_a_mail_cannot_inject_markup_in_the_portal(
    helpdesk, client, settings
):
    """The audit's stored-XSS payload, delivered by email to alice's ticket."""
    from helpdesk.mail.inbound import ingest

    # sender taken at its word, so the Cc makes alice a collaborator who sees the ticket
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "UNVERIFIED_POLICY": "trust"}

    raw = (
        b"From: Stranger <stranger@nowhere.test>\r\n"
        b"To: support@helpdesk.test\r\nCc: alice@acme.test\r\n"
        b"Subject: look\r\nMessage-ID: <xss-1@nowhere.test>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<img src="cid:a"><p title=" onerror=alert(document.domain) x=">hi</p>\r\n'
        b'--b\r\nContent-Type: text/plain\r\nContent-ID: <a"><p title=>\r\n'
        b'Content-Disposition: inline; filename="x.txt"\r\n\r\nx\r\n--b--\r\n'
    )
    ticket = ingest(raw, channel="email").ticket
    client.force_login(helpdesk.alice)
    response = client.get(f"/tickets/{ticket.number}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert " onerror=alert" not in html.replace('title=" onerror=alert(document.domain) x="', "")
