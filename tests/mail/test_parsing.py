"""The corpus through the parser: any charset, hostile HTML, inline images, nesting."""

import pytest

from helpdesk.mail.inbound import ingest
from helpdesk.mail.parsing import Unreadable, decode_bytes, parse
from threads.models import Attachment

from .conftest import corpus

# written before sender authentication: every sender is taken at its word
pytestmark = pytest.mark.usefixtures("trust_mail")


def test_rfc2047_words_in_subject_and_sender_name_are_decoded():
    parsed = parse(corpus("rfc2047.eml"))

    assert parsed.subject == "Prüfung der Rechnung € 100"
    assert (parsed.sender_name, parsed.sender_email) == ("Jürgen Müller", "juergen@example.de")
    assert parsed.body == "Grüße aus Köln."
    assert parsed.fmt == "text"


def test_an_unknown_charset_falls_back_to_utf8():
    parsed = parse(corpus("broken_charset.eml"))

    assert parsed.body == "Café au lait, süper."
    assert parsed.subject == "Café order"


def test_latin1_bytes_under_an_ascii_label_are_read_as_windows_1252():
    parsed = parse(corpus("mislabeled.eml"))

    assert parsed.body == "Naïve résumé in Latin-1 under an ASCII label."


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        (b"caf\xc3\xa9", "utf-8", "café"),
        (b"caf\xe9", "utf-8", "café"),  # declared wrong: falls back
        (b"caf\xe9", "x-bogus", "café"),
        (b"\x81\x8d", None, "\ufffd\ufffd"),  # undefined in cp1252: replaced, never raises
    ],
)
def test_decode_bytes_never_raises(data, charset, expected):
    assert decode_bytes(data, charset) == expected


def test_html_prefers_the_html_alternative(helpdesk):
    parsed = parse(corpus("html_script.eml"))

    assert parsed.fmt == "html"
    assert "<script>" in parsed.body  # raw here; sanitised when the entry is written


def test_script_event_handlers_and_javascript_links_never_reach_the_entry(helpdesk):
    ticket = ingest(corpus("html_script.eml"), channel="email").ticket

    html = ticket.thread.entries.get().body_html
    for banned in ("<script", "onload", "onclick", "onerror", "javascript:", "<iframe", "<style"):
        assert banned not in html
    assert "document.cookie" not in html
    assert "<b>agent</b>" in html
    assert 'href="https://ok.test/"' in html


def test_an_inline_image_is_stored_as_an_inline_attachment_shown_in_place(helpdesk):
    ticket = ingest(corpus("inline_image.eml"), channel="email").ticket

    entry = ticket.thread.entries.get()
    assert '<img src="cid:shot1@acme.test" alt="screenshot">' in entry.body_html
    image = Attachment.objects.get(entry=entry)
    assert (image.filename, image.content_type, image.inline, image.content_id) == (
        "shot.png",
        "image/png",
        True,
        "shot1@acme.test",
    )
    assert image.file.size == 70


def test_a_nested_message_is_kept_as_an_eml_attachment(helpdesk):
    ticket = ingest(corpus("nested_rfc822.eml"), channel="email").ticket

    entry = ticket.thread.entries.get()
    assert entry.body_text == "Forwarding the mail from our accountant."
    files = {a.filename: a for a in Attachment.objects.filter(entry=entry)}
    assert sorted(files) == ["Invoice 42.eml", "Rechnung März.pdf"]
    nested = files["Invoice 42.eml"]
    assert nested.content_type == "message/rfc822" and not nested.inline
    content = nested.file.file.open("rb").read()
    assert b"Message-ID: <inner-1@acme.test>" in content
    assert b"The invoice 42 is wrong." in content


def test_an_oversize_attachment_is_dropped_with_a_note_and_the_message_imported(helpdesk, settings):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 1024 * 1024}
    raw = big_message(attachment_bytes=3 * 1024 * 1024)

    result = ingest(raw, channel="email")

    assert result.status == "created"
    entry = result.ticket.thread.entries.get()
    assert entry.body_text == (
        "Logs attached.\n\n[Attachments not imported: "
        "huge.log (3,145,728 bytes): over the attachment size limit]"
    )
    assert list(Attachment.objects.filter(entry=entry).values_list("filename", flat=True)) == [
        "small.txt"
    ]


def test_a_message_over_the_size_limit_keeps_its_text_only(helpdesk, settings):
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "MAX_MESSAGE_BYTES": 1024 * 1024}

    result = ingest(big_message(attachment_bytes=2 * 1024 * 1024), channel="email")

    entry = result.ticket.thread.entries.get()
    assert "huge.log (2,097,152 bytes): the message is over the limit" in entry.body_text
    assert "small.txt (5 bytes): the message is over the limit" in entry.body_text
    assert not Attachment.objects.filter(entry=entry).exists()


def test_attachments_beyond_the_count_limit_are_dropped(helpdesk, settings):
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "MAX_ATTACHMENTS": 1}

    result = ingest(big_message(attachment_bytes=10), channel="email")

    entry = result.ticket.thread.entries.get()
    assert entry.body_text.endswith(
        "[Attachments not imported: small.txt (5 bytes): too many attachments]"
    )
    assert Attachment.objects.filter(entry=entry).count() == 1


def big_message(*, attachment_bytes: int) -> bytes:
    import base64

    blob = base64.encodebytes(b"x" * attachment_bytes).decode()
    return (
        "From: Alice <alice@acme.test>\r\nTo: support@helpdesk.test\r\nSubject: Logs\r\n"
        "Message-ID: <big-1@acme.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLogs attached.\r\n"
        '--b\r\nContent-Type: text/plain; name="huge.log"\r\n'
        "Content-Disposition: attachment; filename=huge.log\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{blob}\r\n"
        '--b\r\nContent-Type: text/plain; name="small.txt"\r\n'
        "Content-Disposition: attachment; filename=small.txt\r\n\r\nhello\r\n--b--\r\n"
    ).encode()


def test_a_message_without_a_sender_is_unreadable():
    with pytest.raises(Unreadable, match="no valid sender"):
        parse(corpus("no_from.eml"))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("autoreply.eml", "Auto-Submitted: auto-replied"),
        ("list_mail.eml", "list-id header"),
        ("plain.eml", ""),
    ],
)
def test_robots_are_recognised(name, reason):
    assert parse(corpus(name)).auto_reason == reason


def test_a_delivery_status_notification_is_read():
    parsed = parse(corpus("bounce_dsn.eml", ORIGINAL_ID="<hd.1.2.abc@helpdesk.test>"))

    assert parsed.bounce == {
        "original_ids": ["<hd.1.2.abc@helpdesk.test>"],
        "recipients": [
            {
                "recipient": "gone@acme.test",
                "action": "failed",
                "status": "5.1.1",
                "diagnostic": "smtp; 550 5.1.1 User unknown",
            }
        ],
        "permanent": True,
    }


def test_raw_8bit_headers_are_read_as_windows_1252_when_not_utf8():
    parsed = parse(corpus("raw_8bit_headers.eml"))

    assert (parsed.subject, parsed.sender_name) == ("Grüße raw 8-bit", "Jörg")
