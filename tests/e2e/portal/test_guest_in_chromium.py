"""A guest in a real browser: opens a ticket with a topic's field, a suggestion from the
knowledge base and an attachment; gets the autoresponse through a real SMTP server,
whose link opens the ticket at once (no second mail); replies with an attachment; later,
signed out, asks for a sign-in link from the ticket's plain address and uses it."""

import re

import pytest
from playwright.sync_api import expect

from threads.models import ThreadEntry
from tickets.models import Ticket

from ..conftest import screenshot
from .conftest import text_of

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

GUEST = "gail@example.org"


def test_a_guest_opens_a_ticket_follows_it_by_mail_and_replies(
    page, live_server, smtp, portal, tmp_path
):
    page.goto("/")
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible()
    screenshot(page, "portal-home")

    # open a ticket: the topic's field arrives by htmx, the subject suggests an article
    page.get_by_role("link", name="Open a ticket").first.click()
    page.get_by_label("Your name").fill("Gail Guest")
    page.get_by_label("Your email address").fill(GUEST)
    page.get_by_label("Help topic").select_option(label="Printers")
    expect(page.get_by_label("Printer model")).to_be_visible()
    page.get_by_label("Printer model").fill("LaserJet 4")
    page.get_by_label("Subject").fill("Printer jam on floor 2")
    expect(page.locator("#faq-suggestions")).to_contain_text("How do I clear a printer jam?")
    page.get_by_label("Message").fill("Paper is stuck and the light blinks.")
    photo = tmp_path / "jam.txt"
    photo.write_text("error 13.2")
    page.get_by_label("Attachments").set_input_files(str(photo))
    screenshot(page, "portal-open")
    page.get_by_role("button", name="Open the ticket").click()

    expect(page).to_have_url(re.compile(r"/open/thanks/$"))
    ticket = Ticket.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ticket #{ticket.number} received")
    screenshot(page, "portal-open-thanks")
    assert ticket.requester.email == GUEST
    assert ticket.field_values.get().value == "LaserJet 4"

    # the autoresponse, sent by the mail channel through a real SMTP server
    autoresponse = smtp.wait_for(lambda rcpt, m: rcpt == [GUEST] and ticket.number in m["Subject"])
    assert autoresponse["Auto-Submitted"] == "auto-replied"
    url = re.search(r"https?://\S+/access/ticket/[^/\s]+/", text_of(autoresponse))
    assert url is not None and url.group(0).startswith(live_server.url)

    # its link (signed, expiring) opens that ticket at once: no second mail to ask for
    page.goto(url.group(0))
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket.number}/$"))
    expect(page.locator(".notice")).to_contain_text(f"as a guest ({GUEST})")
    expect(page.locator(".thread")).to_contain_text("Paper is stuck and the light blinks.")
    expect(page.locator(".thread")).to_contain_text("jam.txt")
    screenshot(page, "portal-ticket-guest")

    # and a reply with an attachment
    log = tmp_path / "after.txt"
    log.write_text("still blinking")
    page.get_by_label("Your reply").fill("I opened the tray; it still blinks.")
    page.locator("#reply input[type=file]").set_input_files(str(log))
    page.get_by_role("button", name="Send the reply").click()
    expect(page.locator(".messages")).to_contain_text("Your reply was posted.")
    expect(page.locator(".thread")).to_contain_text("I opened the tray; it still blinks.")
    expect(page.locator(".thread")).to_contain_text("after.txt")
    entry = ThreadEntry.objects.filter(thread=ticket.thread).latest("id")
    assert (entry.poster, entry.body_text) == (
        ticket.requester,
        "I opened the tray; it still blinks.",
    )
    assert list(entry.attachments.values_list("filename", flat=True)) == ["after.txt"]

    # the attachment downloads through the portal
    with page.expect_download() as download:
        page.get_by_role("link", name="after.txt").click()
    assert download.value.suggested_filename == "after.txt"
    assert len([m for rcpt, m in smtp.messages if rcpt == [GUEST]]) == 1  # the autoresponse

    # signed out, the ticket's plain address asks to sign in; a sign-in link by mail
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"/tickets/{ticket.number}/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    expect(page.get_by_label("Ticket number")).to_have_value(ticket.number)
    screenshot(page, "portal-login")
    page.get_by_label("Email address").nth(1).fill(GUEST)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    link_mail = smtp.wait_for(
        lambda rcpt, m: rcpt == [GUEST] and m["Subject"].startswith("Your sign-in link")
    )
    link = re.search(r"https?://\S+/access/\S+/", text_of(link_mail)).group(0)
    page.goto(link)
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket.number}/$"))
    expect(page.locator(".thread")).to_contain_text("I opened the tray; it still blinks.")
