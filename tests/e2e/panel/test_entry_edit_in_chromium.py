"""Thread entry actions in a real browser: an agent corrects their note from the ticket
page, the entry shows "edited", its history keeps the first text; an agent without
thread.edit gets the styled refusal page naming it (screenshots: panel-entry-*.png)."""

import pytest
from playwright.sync_api import expect

from tests.factories import AgentFactory, open_ticket, role
from threads.models import EntryRevision
from tickets import services

from ..conftest import screenshot
from .test_panel_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_an_agent_edits_a_note_and_reads_its_history(page, new_page, cast):
    sam = AgentFactory(username="sam", name="Sam Agent", department=cast.dept_a)
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Printer on fire")
    note = services.ticket_post_note(actor=sam, ticket=ticket, body="Toner is emtpy").entry

    sign_in(page, "sam")
    page.goto(f"/scp/tickets/{ticket.number}/")
    entry = page.locator(f"#entry-{note.pk}")
    entry.locator("[data-action=edit]").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit entry")
    page.get_by_label("Text").fill("Toner is empty")
    screenshot(page, "panel-entry-edit")
    page.locator("[data-action=edit]").click()

    expect(page.locator("#messages")).to_contain_text("Entry edited.")
    entry = page.locator(f"#entry-{note.pk}")
    expect(entry.locator(".body")).to_contain_text("Toner is empty")
    expect(entry.locator(".badge.edited")).to_be_visible()
    entry.locator("[data-action=history]").click()
    expect(page.locator(".revision").nth(1)).to_contain_text("Toner is emtpy")
    screenshot(page, "panel-entry-history")
    assert EntryRevision.objects.get(entry=note).body_text == "Toner is emtpy"

    # another agent of the department whose role lacks thread.edit
    AgentFactory(username="eve", department=cast.dept_a, role=role("Expanded Access"))
    other = new_page()
    sign_in(other, "eve")
    other.goto(f"/scp/tickets/{ticket.number}/entries/{note.pk}/edit/")
    refusal = other.locator(".refusal")
    expect(refusal).to_contain_text("thread.edit")
    expect(refusal).to_contain_text(cast.manager_a.display_name)
    expect(other.locator("#sidebar")).to_be_visible()
    screenshot(other, "panel-entry-refused")
