"""Charsets decoded as mail clients do (WHATWG labels), and Outlook's winmail.dat."""

import struct

import pytest

from helpdesk.mail.charsets import codec_for, decode_bytes
from helpdesk.mail.inbound import ingest
from helpdesk.mail.parsing import parse
from threads.models import Attachment

pytestmark = pytest.mark.usefixtures("trust_mail")


def text_message(body: bytes, charset: str, subject: bytes = b"Charset") -> bytes:
    return (
        b"From: Bob <bob@globex.test>\r\nTo: support@helpdesk.test\r\nSubject: " + subject
        + b"\r\nMessage-ID: <cs@globex.test>\r\nMIME-Version: 1.0\r\n"
        + f"Content-Type: text/plain; charset={charset}\r\n".encode()
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("label", "data", "expected"),
    [
        ("iso-8859-1", b"\x80 \x93quoted\x94 caf\xe9 \x85", "€ “quoted” café …"),
        ("latin1", b"\x99 \x8a", "™ Š"),
        ("us-ascii", b"price \x80 5", "price € 5"),
        ("us-ascii", "naïve".encode(), "naïve"),  # mislabelled UTF-8
        ("gb2312", "价格 €".encode("gb18030"), "价格 €"),
        ("gb2312", "𠀀".encode("gb18030"), "𠀀"),  # only GB18030 has it
        ("GBK", "中文".encode("gb18030"), "中文"),
        ("shift_jis", "①".encode("cp932"), "①"),  # a Windows-932 extension
        ("iso-8859-8-i", "שלום".encode("iso8859-8"), "שלום"),
        ("windows-1251", "Привет".encode("cp1251"), "Привет"),
    ],
)
def test_bodies_are_decoded_by_their_whatwg_label(label, data, expected):
    assert parse(text_message(data, label)).body == expected


def test_an_encoded_word_labelled_latin1_is_read_as_windows_1252():
    raw = text_message(b"x", "utf-8", subject=b"=?iso-8859-1?q?=80_100_=93ok=94?=")

    assert parse(raw).subject == "€ 100 “ok”"


def test_codec_names_follow_the_whatwg_standard():
    assert [codec_for(x) for x in ("ISO-8859-1", "ascii", "gb2312", "x-nope", None)] == [
        "cp1252",
        "cp1252",
        "gb18030",
        None,
        None,
    ]


def test_undefined_windows_1252_bytes_become_replacement_characters():
    assert decode_bytes(b"a\x81b\x9d", "iso-8859-1") == "a\ufffdb\ufffd"


def tnef(*files: tuple[str, bytes]) -> bytes:
    """A winmail.dat as Outlook writes it (TNEF objects with their checksums)."""

    def obj(level, name, kind, data):
        head = struct.pack("<BHHI", level, name, kind, len(data))
        return head + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += obj(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # TNEF version
    out += obj(1, 0x9007, 0x0006, struct.pack("<II", 1252, 0))  # OEM code page
    for name, content in files:
        out += obj(2, 0x9002, 0x0006, b"\x01\x00" + b"\xff" * 12)  # rendering: a new file
        out += obj(2, 0x8010, 0x0001, name.encode() + b"\x00")  # title
        out += obj(2, 0x800F, 0x0006, content)  # data
    return out


def with_winmail(blob: bytes) -> bytes:
    import base64

    return (
        b"From: Bob <bob@globex.test>\r\nTo: support@helpdesk.test\r\nSubject: Report\r\n"
        b"Message-ID: <tnef@globex.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee the files.\r\n"
        b'--b\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b"Content-Disposition: attachment; filename=winmail.dat\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(blob) + b"--b--\r\n"
    )


def test_winmail_dat_is_unpacked_into_its_files(helpdesk):
    raw = with_winmail(tnef(("report.txt", b"numbers"), ("photo.png", b"\x89PNG fake")))

    ticket = ingest(raw, channel="email").ticket

    entry = ticket.thread.entries.get()
    files = [(a.filename, a.content_type, a.file.file.open("rb").read()) for a in
             Attachment.objects.filter(entry=entry)]  # fmt: skip
    assert files == [
        ("report.txt", "text/plain", b"numbers"),
        ("photo.png", "image/png", b"\x89PNG fake"),
    ]
    assert entry.body_text == (
        "See the files.\n\n[Attachments: winmail.dat (Outlook TNEF) unpacked: "
        "report.txt, photo.png]"
    )


def test_a_damaged_winmail_dat_is_kept_with_a_visible_note(helpdesk):
    ticket = ingest(with_winmail(b"not TNEF at all"), channel="email").ticket

    entry = ticket.thread.entries.get()
    assert [a.filename for a in Attachment.objects.filter(entry=entry)] == ["winmail.dat"]
    assert entry.body_text.endswith(
        "[Attachments: winmail.dat (Outlook TNEF) could not be unpacked: kept as it came]"
    )
