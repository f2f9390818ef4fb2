"""A draft keeps the images pasted into it: the editor's autosave sends each image its
body names (`cid:pasted-image-N.png`), the draft keeps it (threads.models.DraftImage),
and the reloaded page gives it back as a data: URL where the body names it, so the
editor shows it again and a reply posted from it carries it as an inline image."""

import base64
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from threads.models import Attachment, Draft, DraftImage, ThreadEntry
from tickets.models import Ticket

from ..nowrite import nothing_written
from ..samples import JPEG, PNG
from .conftest import new_task, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
BODY = '<p>See this:</p><p><img src="cid:pasted-image-1.png"></p>'


def _image(content=PNG, name="pasted-image-1.png", content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def _autosave(client, url, body, *images):
    data = {"body": body}
    if images:
        data["inline_images"] = list(images)
    return client.post(url, data, **HTMX)


def _draft_url(ticket, kind="reply"):
    return f"/scp/tickets/{ticket.number}/draft/{kind}/"


def _textarea(page: str, name_id: str) -> str:
    match = re.search(rf'<textarea[^>]*id="{name_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, name_id
    return match.group(1)


def test_a_pasted_image_survives_a_reload_of_the_page(cast, ticket_a):
    client = signed_in(cast.agent_a)
    response = _autosave(client, _draft_url(ticket_a), BODY, _image())
    assert response.status_code == 200 and "Draft saved" in response.content.decode()

    [kept] = DraftImage.objects.all()
    assert (kept.name, kept.content_type, kept.draft.agent) == (
        "pasted-image-1.png",
        "image/png",
        cast.agent_a,
    )
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    restored = _textarea(page, "reply-body")
    encoded = base64.b64encode(PNG).decode()
    assert f"src=&quot;data:image/png;base64,{encoded}&quot;" in restored
    assert "cid:" not in restored


def test_later_autosaves_keep_the_image_until_the_body_drops_it(cast, ticket_a):
    client = signed_in(cast.agent_a)
    _autosave(client, _draft_url(ticket_a), BODY, _image())
    # typing on: the image is not sent again, the draft keeps it
    assert _autosave(client, _draft_url(ticket_a), BODY + "<p>More</p>").status_code == 200
    assert DraftImage.objects.count() == 1
    # the agent deleted the image: the draft lets it go
    assert _autosave(client, _draft_url(ticket_a), "<p>See this:</p>").status_code == 200
    assert not DraftImage.objects.exists()


def test_an_image_of_the_same_name_replaces_the_earlier_one(cast, ticket_a):
    client = signed_in(cast.agent_a)
    _autosave(client, _draft_url(ticket_a), BODY, _image())
    body = BODY.replace(".png", ".jpg")
    jpeg = _image(JPEG, "pasted-image-1.jpg", "image/jpeg")
    _autosave(client, _draft_url(ticket_a), body, jpeg)
    [kept] = DraftImage.objects.all()
    assert (kept.name, kept.content_type, kept.file.size) == (
        "pasted-image-1.jpg",
        "image/jpeg",
        len(JPEG),
    )


def test_what_is_not_a_pasted_image_is_refused_and_nothing_is_saved(cast, ticket_a):
    client = signed_in(cast.agent_a)
    _autosave(client, _draft_url(ticket_a), "<p>Before</p>")
    svg = _image(
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
        "pasted-image-1.png",
        "image/png",
    )
    named = _image(PNG, "evil.html", "image/png")
    # the agent is typing: their lock is renewed all the same
    with nothing_written(orphans=True, ignore=("threads.lock.expires_at",)):
        refused_svg = _autosave(client, _draft_url(ticket_a), BODY, svg)
        refused_name = _autosave(client, _draft_url(ticket_a), BODY, named)
    for response in (refused_svg, refused_name):
        assert response.status_code == 422
        assert "Draft not saved" in response.content.decode()
    assert Draft.objects.get().body == "<p>Before</p>"


def test_a_stored_image_whose_bytes_are_not_an_image_is_not_put_back(cast, ticket_a):
    client = signed_in(cast.agent_a)
    _autosave(client, _draft_url(ticket_a), BODY, _image())
    DraftImage.objects.update(content_type="text/html")
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    restored = _textarea(page, "reply-body")
    assert "data:" not in restored and "cid:pasted-image-1.png" in restored


def test_each_agent_gets_only_their_own_draft_images(cast, ticket_a):
    from ..factories import AgentFactory

    colleague = AgentFactory(username="colleague", department=cast.dept_a)
    _autosave(signed_in(cast.agent_a), _draft_url(ticket_a, "note"), BODY, _image())
    page = signed_in(colleague).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert "data:image/png" not in page
    assert (
        _autosave(signed_in(cast.agent_b), _draft_url(ticket_a), BODY, _image()).status_code == 404
    )


def test_a_reply_posted_from_the_restored_draft_carries_the_image_and_drops_the_draft(
    cast, ticket_a
):
    client = signed_in(cast.agent_a)
    _autosave(client, _draft_url(ticket_a), BODY, _image())
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    restored = _textarea(page, "reply-body").replace("&quot;", '"').replace("&lt;", "<")
    restored = restored.replace("&gt;", ">")
    ticket = Ticket.objects.get(pk=ticket_a.pk)
    response = client.post(
        f"/scp/tickets/{ticket.number}/reply/",
        {"body": restored, "format": "html", "version": ticket.version},
    )
    assert response.status_code == 302
    entry = ThreadEntry.objects.get(thread_id=ticket.thread_id, kind="response")
    [image] = Attachment.objects.filter(entry=entry)
    assert image.inline and image.file.size == len(PNG)
    assert not Draft.objects.exists() and not DraftImage.objects.exists()


def test_a_task_update_draft_keeps_its_image_too(cast):
    task = new_task(cast.agent_a, department=cast.dept_a)
    client = signed_in(cast.agent_a)
    response = _autosave(client, f"/scp/tasks/{task.number}/draft/", BODY, _image())
    assert response.status_code == 200
    page = client.get(f"/scp/tasks/{task.number}/").content.decode()
    assert "data:image/png;base64," in _textarea(page, "update-body")


def test_a_draft_naming_too_many_images_is_refused(cast, ticket_a):
    from threads.services import MAX_DRAFT_IMAGES

    body = "".join(f'<img src="cid:pasted-image-{n}.png">' for n in range(1, MAX_DRAFT_IMAGES + 2))
    client = signed_in(cast.agent_a)
    with nothing_written(ignore=("threads.lock.expires_at", "threads.lock.created_at")):
        response = _autosave(client, _draft_url(ticket_a, "note"), body)
    assert response.status_code == 422
    assert f"at most {MAX_DRAFT_IMAGES}" in response.content.decode()
