"""The reply and note editor's output: HTML sanitised on the server like every body,
images pasted into the editor (data: URLs) stored as inline attachments under the same
policy as attached files and shown through the ticket's attachment URL, the plain
textarea (no JavaScript) still plain text."""

import base64
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.editor import editor_body
from helpdesk.panel.models import AgentPreferences
from threads.models import Attachment, ThreadEntry
from tickets.models import Ticket

from .conftest import signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# a 1x1 transparent PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 100


def data_url(content: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64,{base64.b64encode(content).decode()}"


def reply(client, ticket, body, **extra):
    return client.post(
        f"/scp/tickets/{ticket.number}/reply/",
        {"body": body, "format": "html", "version": ticket.version, **extra},
    )


def the_response(ticket) -> ThreadEntry:
    return ThreadEntry.objects.get(thread_id=ticket.thread_id, kind="response")


def test_editor_html_is_sanitised_before_it_is_stored(as_agent_a, ticket_a):
    body = (
        '<p><strong>Fixed</strong> <a href="javascript:alert(1)" onclick="steal()">here</a></p>'
        "<script>alert('x')</script><ol><li>one</li></ol><img src=x onerror=alert(1)>"
    )
    assert reply(as_agent_a, ticket_a, body).status_code == 302
    entry = the_response(ticket_a)
    assert entry.format == "html"
    assert "<strong>Fixed</strong>" in entry.body_html
    assert "<ol><li>one</li></ol>" in entry.body_html
    for bad in ("<script", "alert(", "javascript:", "onclick", "onerror"):
        assert bad not in entry.body_html, bad
    assert entry.body_text.startswith("Fixed here")


def test_a_pasted_image_becomes_an_inline_attachment_shown_through_the_ticket(as_agent_a, ticket_a):
    body = f'<p>See the screen:</p><p><img src="{data_url(PNG)}"></p>'
    assert reply(as_agent_a, ticket_a, body).status_code == 302
    entry = the_response(ticket_a)
    image = Attachment.objects.get(entry=entry)
    assert (image.inline, image.content_type, image.filename) == (
        True,
        "image/png",
        "pasted-image-1.png",
    )
    assert image.file.file.read() == PNG
    assert "data:" not in entry.body_html
    assert f'src="cid:{image.content_id}"' in entry.body_html
    page = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    url = f"/scp/tickets/{ticket_a.number}/attachments/{image.pk}/pasted-image-1.png?inline=1"
    assert f'<img src="{url}"' in page
    assert as_agent_a.get(url).status_code == 200


def test_an_image_uploaded_by_the_editor_replaces_its_name_in_the_body(as_agent_a, ticket_a):
    upload = SimpleUploadedFile("pasted-image-1.png", PNG, content_type="image/png")
    unused = SimpleUploadedFile("pasted-image-2.png", PNG, content_type="image/png")
    body = '<p>Here:</p><p><img src="cid:pasted-image-1.png"></p>'
    response = reply(as_agent_a, ticket_a, body, inline_images=[upload, unused])
    assert response.status_code == 302
    entry = the_response(ticket_a)
    image = Attachment.objects.get(entry=entry)  # the one the body names, only
    assert (image.inline, image.filename, image.file.file.read()) == (
        True,
        "pasted-image-1.png",
        PNG,
    )
    assert f'src="cid:{image.content_id}"' in entry.body_html
    assert "pasted-image-1.png" not in entry.body_html


def test_an_uploaded_program_named_as_a_pasted_image_is_refused(
    as_agent_a, ticket_a, nothing_written
):
    upload = SimpleUploadedFile("pasted-image-1.png", EXE, content_type="image/png")
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/reply/",
            {
                "body": '<p><img src="cid:pasted-image-1.png"></p>',
                "format": "html",
                "version": ticket_a.version,
                "inline_images": [upload],
            },
            **HTMX,
        )
    assert response.status_code in (400, 422)
    assert "pasted-image-1.png: its content is a program or script" in response.content.decode()


def test_a_pasted_program_posing_as_an_image_is_refused_and_nothing_written(
    as_agent_a, ticket_a, nothing_written
):
    body = f'<p>Look</p><img src="{data_url(EXE)}">'
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/reply/",
            {"body": body, "format": "html", "version": ticket_a.version},
            **HTMX,
        )
    assert response.status_code in (400, 422)
    assert "pasted-image-1.png: its content is a program or script" in response.content.decode()


def test_an_empty_editor_note_is_refused(as_agent_a, ticket_a, nothing_written):
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/note/",
            {"body": "<p><br></p>", "format": "html"},
            **HTMX,
        )
    assert response.status_code in (400, 422)
    assert "This field is required." in response.content.decode()


def test_a_note_from_the_editor_keeps_its_formatting(as_agent_a, ticket_a):
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/note/",
        {"body": "<p>Call <em>back</em> at 3</p><ul><li>toner</li></ul>", "format": "html"},
    )
    assert response.status_code == 302
    note = ThreadEntry.objects.get(thread_id=ticket_a.thread_id, kind="note")
    assert note.body_html == "<p>Call <em>back</em> at 3</p><ul><li>toner</li></ul>"


def test_without_the_editor_the_body_is_plain_text(as_agent_a, ticket_a):
    text = "<b>not bold</b>\nsecond line"
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/reply/",
        {"body": text, "version": ticket_a.version},
    )
    assert response.status_code == 302
    entry = the_response(ticket_a)
    assert entry.body_text == text
    assert "&lt;b&gt;not bold&lt;/b&gt;<br>second line" in entry.body_html


def test_the_signature_is_appended_to_an_editor_reply_as_html(cast, ticket_a):
    cast.agent_a.signature = "Alex <Support>\nExt. 12"
    cast.agent_a.save()
    client = signed_in(cast.agent_a)
    response = reply(client, ticket_a, "<p>Done.</p>", signature="mine")
    assert response.status_code == 302
    html = the_response(ticket_a).body_html
    assert html.startswith("<p>Done.</p>")
    assert "Alex &lt;Support&gt;<br>Ext. 12" in html
    assert Ticket.objects.get(pk=ticket_a.pk).is_answered


def test_editor_body_counts_and_names_each_image():
    written = editor_body(
        f'<img src="{data_url(PNG)}"><img alt="x" src=\'{data_url(PNG, "image/jpeg")}\'>', "html"
    )
    assert written.errors == []
    assert [i.filename for i in written.images] == ["pasted-image-1.png", "pasted-image-2.jpg"]
    assert all(i.inline and i.content_id for i in written.images)
    assert written.body.count('src="cid:') == 1 and written.body.count("src='cid:") == 1


def test_editor_body_reports_a_damaged_image_and_drops_its_source():
    written = editor_body('<img src="data:image/png;base64,@@@@">', "html")
    assert written.images == []
    assert written.errors == ["pasted-image-1.png: the image is damaged."]
    assert "data:" not in written.body


def test_a_text_body_is_left_as_it_is():
    written = editor_body('<img src="data:image/png;base64,AAAA">', "text")
    assert (written.body, written.fmt, written.images) == (
        '<img src="data:image/png;base64,AAAA">',
        "text",
        [],
    )


# --- the signature, as the agent chose in their profile -------------------------------------
def chosen_signature(html: str) -> str | None:
    """The signature the reply form has chosen: the checked radio button, or the hidden
    field when there is nothing to choose."""
    for tag in re.findall(r'<input[^>]*name="signature"[^>]*>', html):
        if "checked" in tag or 'type="hidden"' in tag:
            return re.search(r'value="([^"]*)"', tag).group(1)
    return None


def test_the_signature_is_ticked_by_default_as_the_agent_chose_in_their_profile(cast, ticket_a):
    client = signed_in(cast.agent_a)
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert chosen_signature(page) == "none"  # no signature yet: nothing to append
    response = client.post(
        "/scp/profile/",
        {
            "name": cast.agent_a.name,
            "signature": "Alex, Support",
            "timezone": "UTC",
            "page_size": 25,
            "sign_replies": "on",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert chosen_signature(page) == "mine"
    response = client.post(
        "/scp/profile/",
        {
            "name": cast.agent_a.name,
            "signature": "Alex, Support",
            "timezone": "UTC",
            "page_size": 25,
        },
    )
    assert response.status_code == 302
    assert preferences(cast.agent_a).sign_replies is False
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert chosen_signature(page) == "none"


def preferences(agent):
    return AgentPreferences.objects.get(agent=agent)
