"""A reply draft keeps the image pasted into it, in a real browser: the autosave sends
the image with the draft, a reload shows it again in the editor, and the reply posted
from the restored draft carries it as an inline image (screenshot:
ticket-draft-image-restored.png)."""

import pytest
from playwright.sync_api import expect

from tests.factories import open_ticket
from threads.models import Attachment, DraftImage, ThreadEntry

from ..conftest import screenshot
from .test_panel_in_chromium import sign_in
from .test_ticket_sidebar_in_chromium import red_png

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_pasted_image_survives_a_reload_of_the_draft(page, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Screen is red")
    sign_in(page, "alex")
    page.goto(f"/scp/tickets/{ticket.number}/")
    editor = page.locator("#reply-form .ql-editor")
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.type("This is what I see:")
    page.keyboard.press("Enter")
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
    expect(page.locator("#reply-draft-status")).to_contain_text("Draft saved")
    assert DraftImage.objects.count() == 1

    page.reload()
    editor = page.locator("#reply-form .ql-editor")
    expect(editor).to_contain_text("This is what I see:")
    expect(editor.locator("img")).to_have_count(1)
    width = editor.locator("img").evaluate("img => img.complete && img.naturalWidth")
    assert width == 8
    screenshot(page, "ticket-draft-image-restored")

    page.get_by_role("button", name="Post reply").click()
    expect(page.locator("#messages")).to_contain_text("Reply posted.")
    entry = ThreadEntry.objects.get(thread_id=ticket.thread_id, kind="response")
    [image] = Attachment.objects.filter(entry=entry)
    assert image.inline and image.content_type == "image/png"
    assert not DraftImage.objects.exists()
