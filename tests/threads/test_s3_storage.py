"""Attachments on S3-compatible object storage, end to end against a real server
(moto's server mode, tests/s3_process.py): every way a file comes in (API, mail, inline
image, knowledge base) writes one private object per SHA-256, every way it leaves goes
through the permission-checked views (streamed from the bucket), the orphan purge
removes the object, and /readyz asks the bucket."""

import base64
import datetime as dt
import hashlib

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from helpdesk.kb import faq_services as kb
from helpdesk.mail.inbound import ingest
from threads import services
from threads.models import Attachment, StoredFile
from tickets.models import HelpdeskSettings, Ticket

from ..api.conftest import Api
from ..factories import open_ticket
from ..mail.conftest import corpus
from ..panel.conftest import signed_in

pytestmark = pytest.mark.s3

CONTENT = b"line 1\nline 2\n" * 1000  # bigger than one read of the download view


@pytest.fixture
def desk(cast, settings):
    """The cast with dept_a taking mail (as tests/mail's `helpdesk`), senders trusted."""
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "UNVERIFIED_POLICY": "trust"}
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    cast.dept_a.email = "support@helpdesk.test"
    cast.dept_a.save()
    return cast


def key_of(content: bytes) -> str:
    sha = hashlib.sha256(content).hexdigest()
    return f"files/{sha[:2]}/{sha[2:4]}/{sha}"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def _open_by_api(cast, content=CONTENT, name="log.txt") -> Ticket:
    response = (
        Api(cast)
        .client_user(cast.alice)
        .post(
            "/api/v1/tickets/",
            {
                "subject": "Printer",
                "department": cast.dept_a.pk,
                "body": "See the log.",
                "attachments": [
                    {
                        "filename": name,
                        "content_type": "text/plain",
                        "content": base64.b64encode(content).decode(),
                    }
                ],
            },
            format="json",
        )
    )
    assert response.status_code == 201, response.content
    return Ticket.objects.get(number=response.json()["number"])


def _downloads(cast, ticket, att, *, agent, client):
    name = att.filename
    return {
        "panel": signed_in(agent).get(f"/scp/tickets/{ticket.number}/attachments/{att.pk}/{name}"),
        "portal": signed_in(client).get(f"/tickets/{ticket.number}/files/{att.pk}/{name}"),
        "api": Api(cast).agent(agent).get(f"/api/v1/attachments/{att.pk}/"),
    }


def test_a_file_sent_through_the_api_is_one_private_object_served_by_every_view(s3, cast):
    ticket = _open_by_api(cast)

    att = Attachment.objects.get(entry__thread_id=ticket.thread_id)
    assert s3.keys() == [key_of(CONTENT)]
    assert s3.get(key_of(CONTENT)) == CONTENT
    grants = s3.acl_grants(key_of(CONTENT))
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner only
    assert all(g["Grantee"]["Type"] == "CanonicalUser" for g in grants)

    served = _downloads(cast, ticket, att, agent=cast.agent_a, client=cast.alice)
    for surface, response in served.items():
        assert response.status_code == 200, surface
        assert body(response) == CONTENT, surface
        assert response["Content-Length"] == str(len(CONTENT)), surface
        assert response["Content-Disposition"] == 'attachment; filename="log.txt"', surface
        assert response["Cache-Control"] == "private, no-store", surface
        assert "X-Accel-Redirect" not in response, surface


def test_the_wrong_person_gets_no_byte_of_an_object(s3, cast):
    ticket = _open_by_api(cast)
    att = Attachment.objects.get(entry__thread_id=ticket.thread_id)

    refused = _downloads(cast, ticket, att, agent=cast.agent_b, client=cast.bob)

    assert {surface: r.status_code for surface, r in refused.items()} == {
        "panel": 404,
        "portal": 404,
        "api": 404,
    }
    assert all(CONTENT not in r.content for r in refused.values())
    anonymous = Client().get(f"/tickets/{ticket.number}/files/{att.pk}/log.txt")
    assert anonymous.status_code in (302, 404) and CONTENT not in anonymous.content


def test_the_storage_never_makes_a_url_to_an_object(s3, cast):
    _open_by_api(cast)

    with pytest.raises(NotImplementedError):
        default_storage.url(key_of(CONTENT))


def test_a_mailed_inline_image_lands_in_the_bucket_and_is_served_in_place(s3, desk):
    ticket = ingest(corpus("inline_image.eml"), channel="email").ticket

    image = Attachment.objects.get(entry__thread_id=ticket.thread_id)
    assert image.inline and image.content_type == "image/png"
    stored = s3.get(image.file.file.name)
    assert len(stored) == 70 and s3.keys() == [key_of(stored)]
    response = signed_in(desk.agent_a).get(
        f"/scp/tickets/{ticket.number}/attachments/{image.pk}/{image.filename}?inline=1"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'inline; filename="shot.png"'
    assert body(response) == stored


def test_the_same_bytes_from_mail_and_the_api_are_stored_once(s3, desk):
    by_mail = ingest(corpus("inline_image.eml"), channel="email").ticket
    image = Attachment.objects.get(entry__thread_id=by_mail.thread_id)
    content = s3.get(image.file.file.name)

    by_api = _open_by_api(desk, content=content, name="again.png")

    again = Attachment.objects.get(entry__thread_id=by_api.thread_id)
    assert again.file_id == image.file_id and StoredFile.objects.count() == 1
    assert s3.keys() == [key_of(content)]


def test_the_orphan_purge_deletes_the_object(s3, db):
    orphan = services.file_store(content=b"orphan")
    kept = services.file_store(content=b"kept")
    StoredFile.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    assert s3.keys() == sorted([key_of(b"orphan"), key_of(b"kept")])

    assert services.files_purge_orphans(older_than_hours=24) == 1

    assert s3.keys() == [key_of(b"kept")]
    assert list(StoredFile.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_knowledge_base_file_is_served_from_the_bucket(s3, cast):
    category = kb.faq_category_create(actor=cast.admin, name="Printing")
    faq = kb.faq_create(
        actor=cast.admin,
        category=category,
        question="Paper jam?",
        answer="<p>Open the tray.</p>",
        is_published=True,
        files=[services.NewAttachment("guide.txt", b"Guide", "text/plain")],
    )
    a = faq.attachments.get()

    response = Client().get(f"/kb/faq/{faq.pk}/files/{a.pk}/guide.txt")

    assert response.status_code == 200 and body(response) == b"Guide"
    assert s3.keys() == [key_of(b"Guide")]


def test_readyz_asks_the_bucket(s3, db, settings):
    assert Client().get("/readyz").json()["checks"]["storage"] == "ok"

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "config.s3storage.S3Storage",
            "OPTIONS": {**s3.options(), "bucket_name": "no-such-bucket"},
        },
    }
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "fail"


def test_a_reply_mailed_to_the_client_carries_the_file_read_from_the_bucket(
    s3, desk, django_capture_on_commit_callbacks
):
    from django.core import mail

    from tickets.services.entries import ticket_post_reply

    ticket = open_ticket(desk.alice, department=desk.dept_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_post_reply(
            actor=desk.agent_a,
            ticket=ticket,
            body="The fix is attached.",
            files=[services.NewAttachment("fix.txt", CONTENT, "text/plain")],
        )

    sent = [m for m in mail.outbox if desk.alice.email in m.to]
    assert len(sent) == 1
    assert sent[0].attachments == [("fix.txt", CONTENT.decode(), "text/plain")]
    assert s3.keys() == [key_of(CONTENT)]


def test_any_stored_file_opens_as_a_stream_of_the_bucket_for_a_download(s3, db):
    from django.core.files.base import ContentFile

    from helpdesk.downloads import open_stored

    name = default_storage.save("exports/report.csv", ContentFile(CONTENT))
    handle = open_stored(default_storage, name)

    assert handle.size == len(CONTENT)
    assert b"".join(iter(lambda: handle.read(4096), b"")) == CONTENT
    handle.close()


def test_the_admin_shows_a_stored_file_without_a_link_to_the_bucket(s3, cast):
    stored = services.file_store(content=CONTENT, content_type="text/plain")

    response = signed_in(cast.admin).get(f"/admin/threads/storedfile/{stored.pk}/change/")

    assert response.status_code == 200
    assert key_of(CONTENT) in response.content.decode()
    assert s3.server.url not in response.content.decode()
