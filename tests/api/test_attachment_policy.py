"""The attachment policy through the API: a refused file is a 400 problem naming it, in
JSON and in multipart, for agents and clients, and nothing is written."""

import base64

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from threads.models import StoredFile, ThreadEntry, ThreadEvent

from ..samples import ELF, PE, PNG
from .conftest import problem


def _json_file(name, content, ctype=""):
    return {"filename": name, "content_type": ctype, "content": base64.b64encode(content).decode()}


@pytest.mark.parametrize("how", ["json", "multipart"])
def test_a_program_is_refused_with_a_400_naming_it(api, cast, ticket_a, how, nothing_written):
    url = f"/api/v1/tickets/{ticket_a.number}/entries/"
    entries, events = ThreadEntry.objects.count(), ThreadEvent.objects.count()
    if how == "json":
        files = [_json_file("shot.png", PNG, "image/png"), _json_file("cv.pdf", ELF)]
        body = {"kind": "message", "body": "see", "attachments": files}
    else:
        body = {
            "kind": "message",
            "body": "see",
            "attachments": [
                SimpleUploadedFile("shot.png", PNG, "image/png"),
                SimpleUploadedFile("cv.pdf", ELF, "application/pdf"),
            ],
        }
    mail.outbox.clear()

    client = api.client_user(cast.alice)
    with nothing_written():
        response = client.post(url, body, format=how)

    assert response.status_code == 400
    assert problem(response) == {
        "type": "urn:helpdesk:problem:attachment_refused",
        "title": "Bad request",
        "status": 400,
        "detail": "Attachment refused: cv.pdf: its content is a program or script "
        "(application/x-executable).",
        "code": "attachment_refused",
        "errors": {
            "attachments": [
                "cv.pdf: its content is a program or script (application/x-executable)."
            ]
        },
    }
    assert (ThreadEntry.objects.count(), ThreadEvent.objects.count()) == (entries, events)
    assert StoredFile.objects.count() == 0
    assert mail.outbox == []


def test_an_agent_opening_a_ticket_with_an_exe_is_refused(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            "/api/v1/tickets/",
            {
                "subject": "s",
                "body": "b",
                "requester": cast.alice.pk,
                "department": cast.dept_a.pk,
                "attachments": [_json_file("setup.exe", PE)],
            },
            format="json",
        )

    assert response.status_code == 400, response.content
    assert problem(response)["errors"] == {
        "attachments": ["setup.exe: files of type .exe are not accepted."]
    }
    assert ThreadEntry.objects.count() == 0
