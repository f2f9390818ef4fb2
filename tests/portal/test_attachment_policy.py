"""The attachment policy in the portal: a refused file is a form error (400) naming it,
and nothing is written."""

from django.core.files.uploadedfile import SimpleUploadedFile

from threads.models import StoredFile, ThreadEvent
from tickets.models import Ticket

from ..samples import PE, SCRIPT
from .test_open import form_token, valid
from .test_tickets import reply_token


def test_opening_with_a_program_is_a_400_form_error(client, helpdesk, topic, nothing_written):
    client.force_login(helpdesk.alice)
    data = valid(topic, form_token(client))
    data["attachments"] = [SimpleUploadedFile("invoice.pdf", PE, "application/pdf")]

    with nothing_written():
        response = client.post("/open/", data)

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "attachments": [
            "invoice.pdf: its content is a program or script "
            "(application/vnd.microsoft.portable-executable)."
        ]
    }
    assert (Ticket.objects.count(), StoredFile.objects.count()) == (0, 0)


def test_replying_with_a_script_is_a_400_form_error(client, helpdesk, tickets, nothing_written):
    ticket = tickets["alice"]
    stored = StoredFile.objects.count()
    client.force_login(helpdesk.alice)
    data = {
        "form_token": reply_token(client, ticket),
        "message": "my fix",
        "attachments": [SimpleUploadedFile("fix.sh", SCRIPT, "text/plain")],
    }

    with nothing_written():
        response = client.post(f"/tickets/{ticket.number}/reply/", data)

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "attachments": ["fix.sh: files of type .sh are not accepted."]
    }
    assert ticket.thread.entries.count() == 1
    assert not ThreadEvent.objects.filter(kind="message").exists()
    assert StoredFile.objects.count() == stored


def test_a_body_over_the_site_limit_is_refused_before_it_is_read(
    client, helpdesk, topic, settings, nothing_written
):
    settings.HELPDESK_API = {**settings.HELPDESK_API, "MAX_BODY_BYTES": 4000}
    client.force_login(helpdesk.alice)
    data = valid(topic, form_token(client))
    data["attachments"] = [SimpleUploadedFile("scan.pdf", b"%PDF-1.4\n" + b"x" * 5000)]

    with nothing_written():
        response = client.post("/open/", data)

    assert response.status_code == 413
    assert response.content.decode() == ("The request is too large: files may be 10 MB at most.")
    assert (Ticket.objects.count(), StoredFile.objects.count()) == (0, 0)
