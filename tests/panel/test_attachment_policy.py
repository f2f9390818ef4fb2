"""The attachment policy and the bounds in the staff panel: refused files are a form
error (400) naming them; too many files, recipients or tickets are refused at once."""

from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk import limits
from threads.models import StoredFile, ThreadEntry, ThreadEvent
from tickets.models import Ticket

from ..samples import ELF, PE, TEXT
from .conftest import signed_in


def test_a_note_with_a_program_is_a_400_form_error(as_agent_a, ticket_a, nothing_written):
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/note/",
            {"body": "tool", "attachments": [SimpleUploadedFile("tool.exe", PE)]},
        )

    assert response.status_code == 400
    assert response.context["forms"]["note"].errors == {
        "attachments": ["tool.exe: files of type .exe are not accepted."]
    }
    assert ThreadEntry.objects.filter(thread_id=ticket_a.thread_id).count() == 1
    assert StoredFile.objects.count() == 0


def test_a_new_ticket_with_a_renamed_program_is_a_400_form_error(cast, nothing_written):
    as_agent_a = signed_in(cast.agent_a)
    with nothing_written():
        response = as_agent_a.post(
            "/scp/tickets/new/",
            {
                "email": cast.alice.email,
                "subject": "s",
                "body": "b",
                "department": cast.dept_a.pk,
                "attachments": [SimpleUploadedFile("log.txt", ELF, "text/plain")],
            },
        )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "attachments": ["log.txt: its content is a program or script (application/x-executable)."]
    }
    assert Ticket.objects.count() == 0


def test_more_files_than_the_api_allows_are_refused_in_the_panel_too(
    as_agent_a, ticket_a, settings, nothing_written
):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENTS": 2}
    files = [SimpleUploadedFile(f"{n}.txt", TEXT, "text/plain") for n in "abc"]

    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/note/", {"body": "files", "attachments": files}
        )

    assert response.status_code == 400
    assert response.context["forms"]["note"].errors == {"attachments": ["Attach at most 2 files."]}
    assert StoredFile.objects.count() == 0


def test_a_bulk_action_over_the_limit_is_refused_and_changes_nothing(
    as_agent_a, ticket_a, nothing_written
):
    numbers = [ticket_a.number] + [str(100000 + n) for n in range(limits.MAX_BULK_IDS)]

    with nothing_written():
        response = as_agent_a.post(
            "/scp/queues/bulk/", {"action": "delete", "tickets": numbers}, follow=True
        )

    assert [str(m) for m in response.context["messages"]] == [
        f"Choose at most {limits.MAX_BULK_IDS} tickets at once."
    ]
    ticket_a.refresh_from_db()
    assert ticket_a.state == "open"
    assert not ThreadEvent.objects.filter(kind="status_changed").exists()
