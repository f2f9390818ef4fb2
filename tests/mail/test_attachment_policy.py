"""The attachment policy on the mail channel: a denied part is dropped and noted on the
entry (threads.attachments.attachment_refusal, called by helpdesk.mail.parsing)."""

from email.message import EmailMessage

from helpdesk.mail.inbound import ingest
from helpdesk.mail.parsing import parse
from threads.models import Attachment

from ..samples import ELF, PDF, PE, SCRIPT


def _mail_with(parts: list[tuple[str, bytes, str]]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@acme.test>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Files"
    msg["Message-ID"] = "<files-1@acme.test>"
    msg.set_content("See the files.")
    for name, content, ctype in parts:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def test_the_mail_parser_drops_denied_parts_with_the_reason():
    parsed = parse(
        _mail_with(
            [
                ("scan.pdf", PDF, "application/pdf"),
                ("update.exe", PE, "application/octet-stream"),
                ("invoice.pdf", ELF, "application/pdf"),
            ]
        )
    )

    assert [a.filename for a in parsed.attachments] == ["scan.pdf"]
    assert [(d.filename, d.size, d.why) for d in parsed.dropped] == [
        ("update.exe", len(PE), "files of type .exe are not accepted"),
        ("invoice.pdf", len(ELF), "its content is a program or script (application/x-executable)"),
    ]


def test_an_imported_mail_keeps_its_allowed_files_and_notes_the_dropped_ones(helpdesk):
    result = ingest(
        _mail_with([("scan.pdf", PDF, "application/pdf"), ("run.sh", SCRIPT, "text/plain")]),
        channel="email",
    )

    assert result.status == "created"
    entry = result.ticket.thread.entries.get()
    assert entry.body_text == (
        "See the files.\n\n[Attachments not imported: "
        f"run.sh ({len(SCRIPT)} bytes): files of type .sh are not accepted]"
    )
    assert list(Attachment.objects.filter(entry=entry).values_list("filename", flat=True)) == [
        "scan.pdf"
    ]
