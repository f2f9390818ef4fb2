"""The staff panel in a real browser (Chromium through Playwright, against live_server).

One agent works a ticket from sign-in to close; two agents claim the same ticket at
once and exactly one wins. Each main page is saved as a screenshot for review
(test-artifacts/screenshots/panel-*.png).
"""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import AgentFactory, open_ticket
from threads.models import ThreadEntry
from tickets.models import Ticket

from ..conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def sign_in(page, login, password="secret"):  # noqa: S107
    page.goto("/scp/login/")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sidebar")).to_be_visible()


def test_an_agent_works_a_ticket_from_sign_in_to_close(page, cast, tmp_path):
    agent = AgentFactory(
        username="sam",
        name="Sam Agent",
        department=cast.dept_a,
        extra_departments={cast.dept_b: "All Access"},
    )
    ticket = open_ticket(
        cast.alice,
        department=cast.dept_a,
        subject="Printer on fire",
        body="Smoke comes out of the printer on floor 2.",
    )
    for i in range(3):
        open_ticket(cast.alice, department=cast.dept_a, subject=f"Other request {i}")

    page.goto("/scp/login/")
    screenshot(page, "panel-login")
    sign_in(page, "sam")

    # the landing queue
    expect(page.get_by_role("heading", name="Open")).to_be_visible()
    expect(page.locator("table.tickets")).to_contain_text("Printer on fire")
    screenshot(page, "panel-queue")

    # the ticket
    page.get_by_role("link", name="Printer on fire").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Printer on fire")
    screenshot(page, "panel-ticket")

    # reply with an attachment; the draft is saved and the lock taken while typing
    log = tmp_path / "diagnostics.txt"
    log.write_text("printer log")
    body = page.get_by_label("Response")
    body.fill("We are sending a technician.")
    expect(page.locator("#reply-draft-status")).to_contain_text("Draft saved")
    expect(page.locator("#reply-draft-status")).to_contain_text("You hold the lock")
    page.locator("#reply-form input[type=file]").set_input_files(str(log))
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator("#messages")).to_contain_text("Reply posted.")
    expect(page.locator(".entry-response")).to_contain_text("We are sending a technician.")
    expect(page.locator(".entry-response")).to_contain_text("diagnostics.txt")

    # an internal note
    page.get_by_text("Add an internal note").click()
    page.get_by_label("Internal note").fill("Technician booked for 3 pm.")
    # let the draft save finish first (SQLite's shared test database locks whole tables)
    expect(page.locator("#note-draft-status")).to_contain_text("Draft saved")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".entry-note")).to_contain_text("Technician booked for 3 pm.")

    # transfer to Billing (a dialog: the department, with a comment)
    page.locator("#prop-department").get_by_role("link", name="Transfer").click()
    dialog = page.locator("#dialog-transfer")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=department]").select_option(label="Billing")
    dialog.get_by_label("Comment").fill("Billing handles printers now.")
    dialog.get_by_role("button", name="Transfer").click()
    expect(page.locator("#messages")).to_contain_text("Ticket transferred.")
    expect(page.locator("#prop-department")).to_contain_text("Billing")
    expect(page.locator("#dialog-transfer")).to_be_hidden()

    # close (the status, edited in place in the sidebar)
    page.get_by_role("link", name="Change status").click()
    page.locator("#action-status select[name=status]").select_option(label="Closed")
    page.locator("#action-status").get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text("Status changed.")
    expect(page.locator(".ticket-head .badges")).to_contain_text("Closed")
    expect(page.locator("#prop-status")).to_contain_text("Closed")

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.state, ticket.department, ticket.assignee) == ("closed", cast.dept_b, agent)
    response = ThreadEntry.objects.get(thread_id=ticket.thread_id, kind="response")
    assert [a.filename for a in response.attachments.all()] == ["diagnostics.txt"]
    assert ThreadEntry.objects.filter(thread_id=ticket.thread_id, kind="note").count() == 1

    # a full reload shows the same state (every page works without htmx)
    page.reload()
    expect(page.locator(".ticket-head .badges")).to_contain_text("Closed")

    # the other main pages
    page.goto("/scp/dashboard/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    screenshot(page, "panel-dashboard")
    page.keyboard.press("/")
    page.keyboard.type("printer")
    expect(page.locator("#suggestions")).to_contain_text(ticket.number)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/scp/search/\?q=printer"))
    screenshot(page, "panel-search")
    page.goto("/scp/search/advanced/")
    screenshot(page, "panel-advanced-search")
    page.goto("/scp/tickets/new/")
    screenshot(page, "panel-new-ticket")
    page.goto("/scp/profile/")
    screenshot(page, "panel-profile")


def test_keyboard_shortcuts_reply_and_next_ticket(page, cast):
    first = open_ticket(cast.alice, department=cast.dept_a, subject="First")
    second = open_ticket(cast.alice, department=cast.dept_a, subject="Second")
    sign_in(page, "alex")
    page.get_by_role("link", name="Second").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Second")
    page.wait_for_load_state("load")
    page.keyboard.press("r")
    expect(page.get_by_label("Response")).to_be_focused()
    page.get_by_label("Response").press("Escape")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(f"/scp/tickets/{first.number}/"))
    assert second.number != first.number


def test_two_agents_claim_the_same_ticket_one_wins_the_other_is_told(new_page, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Who takes it?")
    colleague = AgentFactory(username="kim", name="Kim Agent", department=cast.dept_a)
    alex_page, kim_page = new_page(), new_page()
    sign_in(alex_page, "alex")
    sign_in(kim_page, "kim")
    for p in (alex_page, kim_page):
        p.goto(f"/scp/tickets/{ticket.number}/")
        expect(p.get_by_role("button", name="Claim")).to_be_visible()

    alex_page.get_by_role("button", name="Claim").click()
    expect(alex_page.locator("#messages")).to_contain_text("You claimed this ticket.")
    kim_page.get_by_role("button", name="Claim").click()
    expect(kim_page.locator("#messages")).to_contain_text(
        f"already assigned to {cast.agent_a.display_name}"
    )
    screenshot(kim_page, "panel-claim-lost")
    assert Ticket.objects.get(pk=ticket.pk).assignee == cast.agent_a
    assert colleague.assigned_tickets.count() == 0
