"""Registered clients in a real browser: each sees only their tickets (alice also her
colleague's, Acme shares them); bob gets 404 for alice's ticket and attachment; a double
submit opens one ticket; the knowledge base and its staff pages."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import AgentFactory, attachment, open_ticket
from tickets.models import Ticket

from ..conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def sign_in(page, email, password="secret"):  # noqa: S107
    page.goto("/login/")
    page.get_by_label("Email address").first.fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tickets/$"))


def test_clients_see_only_their_tickets_and_get_404_for_others(new_page, portal):
    cast = portal["cast"]
    alices = open_ticket(
        cast.alice,
        subject="Alice's printer",
        body="It prints blank pages.",
        files=[attachment("alice-secret.txt", b"A")],
    )
    carls = open_ticket(cast.alice_colleague, subject="Carl's scanner")
    bobs = open_ticket(cast.bob, subject="Bob's monitor")
    secret = alices.thread.entries.get().attachments.get()
    file_url = f"/tickets/{alices.number}/files/{secret.pk}/alice-secret.txt"

    alice = new_page()
    sign_in(alice, "alice@acme.test")
    rows = alice.locator("table.tickets tbody tr")
    expect(rows).to_have_count(2)
    expect(alice.locator("table.tickets")).to_contain_text("Alice's printer")
    expect(alice.locator("table.tickets")).to_contain_text("Carl's scanner")
    expect(alice.locator("table.tickets")).not_to_contain_text("Bob's monitor")
    screenshot(alice, "portal-tickets")
    alice.get_by_role("link", name="Alice's printer").click()
    expect(alice.get_by_role("heading", level=1)).to_have_text("Alice's printer")
    expect(alice.locator(".thread")).to_contain_text("alice-secret.txt")
    screenshot(alice, "portal-ticket")
    alice.set_viewport_size({"width": 390, "height": 800})
    alice.goto("/tickets/")
    screenshot(alice, "portal-tickets-mobile")
    assert alice.goto(f"/tickets/{bobs.number}/").status == 404

    bob = new_page()
    sign_in(bob, "bob@globex.test")
    expect(bob.locator("table.tickets tbody tr")).to_have_count(1)
    expect(bob.locator("table.tickets")).to_contain_text("Bob's monitor")
    for url in (f"/tickets/{alices.number}/", f"/tickets/{carls.number}/", file_url):
        response = bob.goto(url)
        assert response.status == 404, url
        expect(bob.locator("body")).not_to_contain_text("Alice's printer")
    download = alice.request.get(file_url)  # alice herself may download it (same cookies)
    assert (download.status, download.body()) == (200, b"A")
    assert bob.request.get(file_url).status == 404


def fill_open_form(page, subject):
    page.goto("/open/")
    page.get_by_label("Help topic").select_option(label="Printers")
    page.get_by_label("Printer model").fill("X1")
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message").fill("Clicked twice.")


def test_sending_the_same_form_again_opens_one_ticket(page, portal):
    sign_in(page, "bob@globex.test")
    fill_open_form(page, "Sent twice")
    # the same form posted twice in a row, as "resend" after a refresh of the POST does
    urls = page.evaluate(
        """async () => {
            const form = document.querySelector("form.form");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form)});
            const first = await send();
            const second = await send();
            return [first.url, second.url];
        }"""
    )
    ticket = Ticket.objects.get(subject="Sent twice")
    assert urls == [urls[0], urls[0]] and urls[0].endswith(f"/tickets/{ticket.number}/")
    # the button itself, then a refresh of the page it lands on
    page.get_by_role("button", name="Open the ticket").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket.number}/$"))
    page.reload()
    assert Ticket.objects.filter(subject="Sent twice").count() == 1


@pytest.mark.postgres  # SQLite's shared in-memory test database refuses concurrent writers
def test_a_double_click_opens_one_ticket(page, portal):
    sign_in(page, "bob@globex.test")
    fill_open_form(page, "Double trouble")
    # two posts of the same form at once, as an impatient double click sends them
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector("form.form");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form)});
            const answers = await Promise.all([send(), send()]);
            return answers.map((r) => [r.status, r.url]);
        }"""
    )
    ticket = Ticket.objects.get()
    assert [s for s, _ in statuses] == [200, 200]
    assert {url.rsplit("/", 2)[-2] for _, url in statuses} == {ticket.number}
    # the real button, double-clicked
    fill_open_form(page, "Double click")
    page.get_by_role("button", name="Open the ticket").dblclick()
    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    assert Ticket.objects.filter(subject="Double click").count() == 1


def test_the_open_form_shows_every_error_and_keeps_the_input(page, portal):
    sign_in(page, "bob@globex.test")
    page.goto("/open/")
    page.get_by_label("Help topic").select_option(label="Printers")
    page.get_by_label("Subject").fill("Half filled")
    page.get_by_role("button", name="Open the ticket").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Printer model: This field is required.")
    expect(summary).to_contain_text("Message: This field is required.")
    expect(page.get_by_label("Subject")).to_have_value("Half filled")
    expect(page.get_by_label("Printer model")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "portal-open-errors")
    assert Ticket.objects.count() == 0


def test_the_knowledge_base_and_its_staff_pages(new_page, portal):
    cast = portal["cast"]
    page = new_page()
    page.goto("/kb/")
    expect(page.get_by_role("link", name="Printing")).to_be_visible()
    screenshot(page, "portal-kb")
    page.get_by_label("Search the knowledge base").fill("toner")
    expect(page.locator("#kb-results")).to_contain_text("How do I replace the toner?")
    screenshot(page, "portal-kb-search")
    page.get_by_role("link", name="How do I clear a printer jam?").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("How do I clear a printer jam?")
    expect(page.get_by_role("link", name="Open a ticket about Printers")).to_be_visible()
    screenshot(page, "portal-faq")
    page.goto("/register/")
    screenshot(page, "portal-register")
    page.goto("/access/")
    screenshot(page, "portal-access")

    AgentFactory(username="kim", department=cast.dept_a, permissions=["faq.manage"])
    staff = new_page()
    staff.goto("/scp/login/")
    staff.get_by_label("Username or email").fill("kim")
    staff.get_by_label("Password").fill("secret")
    staff.get_by_role("button", name="Sign in").click()
    staff.get_by_role("link", name="Knowledge base").click()
    expect(staff.get_by_role("heading", name="Knowledge base")).to_be_visible()
    screenshot(staff, "staff-kb")
    staff.get_by_role("link", name="New FAQ").click()
    staff.get_by_label("Category").select_option(label="Printing")
    staff.get_by_label("Question").fill("Why is the print faint?")
    staff.get_by_label("Answer").fill("<p>The toner is low.</p>")
    staff.get_by_label("Published").check()
    screenshot(staff, "staff-kb-faq-form")
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Why is the print faint?")
    expect(staff.locator("main")).to_contain_text("Shown to clients")
    page.goto("/kb/search/?q=faint")
    expect(page.locator("#kb-results")).to_contain_text("Why is the print faint?")
