"""The ticket page's sidebar and editor in a real browser (Chromium through Playwright).

A department manager changes a ticket's properties in place in the sidebar; an agent
replies with an image pasted into the rich-text editor, which arrives as an inline
attachment shown in the thread. Screenshots: test-artifacts/screenshots/ticket-*.png.
"""

import base64
import struct
import zlib

import pytest
from playwright.sync_api import expect

from tests.factories import AgentFactory, SLAFactory, TeamFactory, open_ticket, role
from threads.models import Attachment, ThreadEntry
from tickets.models import Ticket

from ..conftest import screenshot
from .test_panel_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def red_png(size: int = 8) -> str:
    """An 8x8 red PNG, base64 (written by hand: chunks of length, type, data, CRC)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * size for _ in range(size))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()


def change(page, prop: str, action: str, select: dict | None = None, fill: dict | None = None):
    """Open a property's in-place form, fill it, save, and wait for the refreshed page."""
    row = page.locator(f"#prop-{prop}")
    row.locator(f'[data-action="edit-{action}"]').click()
    form = row.locator("form.inline-prop")
    expect(form).to_be_visible()
    for name, option in (select or {}).items():  # {"label": ...} or {"value": ...}
        form.locator(f"select[name={name}]").select_option(**option)
    for name, value in (fill or {}).items():
        form.locator(f"[name={name}]").fill(value)
    form.get_by_role("button", name="Save").click()
    expect(row.locator("form.inline-prop")).to_have_count(0)


def test_a_manager_edits_the_ticket_properties_in_the_sidebar(page, cast):
    manager = AgentFactory(
        username="morgan", name="Morgan Manager", department=cast.dept_a, role=role("All Access")
    )
    cast.dept_a.manager = manager
    cast.dept_a.save()
    TeamFactory(name="Printer squad")
    sla = SLAFactory(name="Four hours")
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Printer jams")
    sign_in(page, "morgan")
    page.goto(f"/scp/tickets/{ticket.number}/")
    expect(page.locator("#prop-priority")).to_contain_text("Normal")

    # the form loads in place; Cancel puts the value back without saving
    page.locator('[data-action="edit-priority"]').click()
    expect(page.locator("#prop-priority form.inline-prop")).to_be_visible()
    screenshot(page, "ticket-sidebar-editing")
    page.locator("#prop-priority").get_by_role("link", name="Cancel").click()
    expect(page.locator("#prop-priority form.inline-prop")).to_have_count(0)
    expect(page.locator('[data-action="edit-priority"]')).to_be_visible()

    change(page, "priority", "priority", select={"priority": {"label": "High"}})
    expect(page.locator("#prop-priority")).to_contain_text("High")
    change(page, "assignee", "assignee", select={"agent": {"value": str(cast.agent_a.pk)}})
    expect(page.locator("#prop-assignee")).to_contain_text(cast.agent_a.display_name)
    change(page, "team", "team", select={"team": {"label": "Printer squad"}})
    expect(page.locator("#prop-team")).to_contain_text("Printer squad")
    change(page, "sla", "sla", select={"sla": {"value": str(sla.pk)}})
    expect(page.locator("#prop-sla")).to_contain_text("Four hours")
    change(page, "collaborators", "collaborator", fill={"email": cast.bob.email})
    expect(page.locator("#prop-collaborators")).to_contain_text(cast.bob.email)

    # an invalid value comes back in place with its error, nothing saved
    page.locator('[data-action="edit-due"]').click()
    page.locator("#prop-due input[name=due_at]").fill("2001-01-01T10:00")
    page.locator("#prop-due").get_by_role("button", name="Save").click()
    expect(page.locator("#prop-due")).to_contain_text("must be in the future")
    screenshot(page, "ticket-sidebar-error")

    # the merge dialog opens over the page and closes
    page.locator('[data-action="open-merge"]').click()
    expect(page.locator("#dialog-merge")).to_be_visible()
    expect(page.locator("#dialog-merge input[name=numbers]")).to_be_visible()
    screenshot(page, "ticket-merge-dialog")
    page.locator("#dialog-merge [data-dialog-close]").click()
    expect(page.locator("#dialog-merge")).to_be_hidden()

    t = Ticket.objects.get(pk=ticket.pk)
    assert (t.priority.name, t.assignee, t.team.name, t.sla.name, t.due_at) == (
        "High",
        cast.agent_a,
        "Printer squad",
        "Four hours",
        None,
    )
    assert list(t.thread.collaborators.values_list("user__email", flat=True)) == [cast.bob.email]
    screenshot(page, "ticket-sidebar")


def test_an_agent_replies_with_an_image_pasted_into_the_editor(page, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Screen is red")
    sign_in(page, "alex")
    page.goto(f"/scp/tickets/{ticket.number}/")
    editor = page.locator("#reply-form .ql-editor")
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.type("This is what I see: ")
    page.keyboard.press("Control+b")
    page.keyboard.type("red")
    page.keyboard.press("Control+b")
    page.keyboard.press("Enter")
    # paste an image, as a screenshot tool puts it on the clipboard
    editor.evaluate(
        """(el, b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "image.png", {type: "image/png"}));
            el.dispatchEvent(new ClipboardEvent("paste", {
                clipboardData: data, bubbles: true, cancelable: true}));
        }""",
        red_png(),
    )
    expect(editor.locator("img")).to_have_count(1)
    # a file that is no image, dropped on the editor, joins the attachments
    editor.evaluate(
        """el => {
            const data = new DataTransfer();
            data.items.add(new File(["printer log"], "log.txt", {type: "text/plain"}));
            el.dispatchEvent(new DragEvent("drop", {
                dataTransfer: data, bubbles: true, cancelable: true}));
        }"""
    )
    expect(page.locator("#reply-form [data-file-list]")).to_contain_text("log.txt")
    expect(editor.locator("img")).to_have_count(1)
    screenshot(page, "ticket-editor-pasted-image")
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator("#messages")).to_contain_text("Reply posted.")

    shown = page.locator(".entry-response .body img")
    expect(shown).to_have_count(1)
    # the image loads through the ticket's attachment URL (8 pixels wide: the PNG pasted)
    page.wait_for_function(
        "() => { const i = document.querySelector('.entry-response .body img');"
        " return i && i.complete && i.naturalWidth === 8; }"
    )
    assert "/attachments/" in shown.get_attribute("src")
    expect(page.locator(".entry-response .body strong")).to_have_text("red")
    screenshot(page, "ticket-reply-with-image")

    entry = ThreadEntry.objects.get(thread_id=ticket.thread_id, kind="response")
    image = Attachment.objects.get(entry=entry, inline=True)
    assert [a.filename for a in Attachment.objects.filter(entry=entry, inline=False)] == ["log.txt"]
    assert (image.inline, image.content_type, image.filename) == (
        True,
        "image/png",
        "pasted-image-1.png",
    )
    assert entry.format == "html" and f'src="cid:{image.content_id}"' in entry.body_html
    assert "<strong>red</strong>" in entry.body_html
