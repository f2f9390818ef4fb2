"""Large messages: bodies stay in the raw bytes while parsing (helpdesk.mail.bodies), so
parsing takes a fraction of the message's size in memory, and gives the same result as
parsing the message whole."""

import base64
import contextlib
import os
import tracemalloc

import pytest

from helpdesk.mail import bodies
from helpdesk.mail.parsing import Unreadable, parse

from .conftest import CORPUS, corpus
from .test_parsing import big_message


def attachment_message(size: int) -> bytes:
    blob = base64.encodebytes(os.urandom(size * 3 // 4)).replace(b"\n", b"\r\n")
    return (
        b"From: Alice <alice@acme.test>\r\nTo: support@helpdesk.test\r\nSubject: big\r\n"
        b"Message-ID: <big@acme.test>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename=big.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + blob + b"\r\n--XX--\r\n"
    )


def nested_message() -> bytes:
    inner = (
        b"From: Acc <acc@acme.test>\r\nSubject: Invoice 7\r\nMessage-ID: <in-7@acme.test>\r\n"
        b"Content-Type: text/plain\r\n\r\n" + b"line of the invoice\r\n" * 200
    )
    return (
        b"From: Alice <alice@acme.test>\r\nSubject: Fwd\r\nMessage-ID: <fwd@acme.test>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\npreamble\r\n'
        b'--o\r\nContent-Type: multipart/alternative; boundary="i"\r\n\r\n'
        b"--i\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 =80 ok\r\n"
        b"--i\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Caf\xc3\xa9</p>\r\n--i--\r\n"
        b"--o\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n"
        b"--o\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"%PDF" * 500)
        + b"--o--\r\nepilogue\r\n"
    )


@pytest.fixture
def always_slim(monkeypatch):
    monkeypatch.setattr(bodies, "SLIM_ABOVE", 0)
    monkeypatch.setattr(bodies, "BIG_BODY", 0)


CASES = sorted(p.name for p in CORPUS.glob("*.eml"))


def outcome(raw: bytes):
    """The parse, with a nested message's bytes compared by content: the whole parse
    re-generates them, a slimmed one keeps the original bytes."""
    try:
        parsed = parse(raw)
    except Unreadable as exc:
        return str(exc)
    for i, a in enumerate(parsed.attachments):
        if a.content_type == "message/rfc822":
            content = a.content.replace(b"\r\n", b"\n").replace(b"\r", b"\n").strip()
            parsed.attachments[i] = type(a)(a.filename, content, a.content_type)
    return parsed


@pytest.mark.parametrize("name", CASES)
def test_a_slimmed_parse_equals_the_whole_parse_on_the_corpus(name, monkeypatch):
    raw = corpus(name, ORIGINAL_ID="<hd.1.2.abc@helpdesk.test>")
    whole = outcome(raw)
    monkeypatch.setattr(bodies, "SLIM_ABOVE", 0)
    monkeypatch.setattr(bodies, "BIG_BODY", 0)

    assert outcome(raw) == whole


@pytest.mark.parametrize("build", [nested_message, lambda: big_message(attachment_bytes=300_000)])
def test_a_slimmed_parse_equals_the_whole_parse_on_nested_and_large_parts(build, monkeypatch):
    raw = build()
    whole = outcome(raw)
    monkeypatch.setattr(bodies, "SLIM_ABOVE", 0)
    monkeypatch.setattr(bodies, "BIG_BODY", 0)
    slimmed, refs = bodies.slim(raw)
    assert len(refs) >= 3 and len(slimmed) < len(raw)

    assert outcome(raw) == whole


def test_the_nested_message_keeps_its_bytes_and_name(always_slim):
    parsed = parse(nested_message())

    names = [a.filename for a in parsed.attachments]
    assert names == ["Invoice 7.eml", "a.pdf"]
    assert parsed.attachments[0].content.startswith(b"From: Acc <acc@acme.test>\r\n")
    assert parsed.attachments[1].content == b"%PDF" * 500
    assert parsed.body == "<p>Café</p>"


def test_an_oversize_body_is_never_decoded_and_its_size_is_exact(settings, always_slim):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 1000}
    raw = big_message(attachment_bytes=3001)

    parsed = parse(raw)

    assert [(d.filename, d.size, d.why) for d in parsed.dropped] == [
        ("huge.log", 3001, "over the attachment size limit")
    ]


def test_a_bounce_returning_a_large_message_still_names_it(always_slim):
    parsed = parse(corpus("bounce_dsn.eml", ORIGINAL_ID="<hd.1.2.abc@helpdesk.test>"))

    assert parsed.bounce["original_ids"] == ["<hd.1.2.abc@helpdesk.test>"]


def test_an_empty_message_is_unreadable_whatever_its_size():
    with pytest.raises(Unreadable, match="empty"):
        parse(b" \r\n" * 1_000_000)


def peak_of_parse(raw: bytes) -> int:
    tracemalloc.start()
    try:
        parse(raw)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_parsing_a_10_mb_message_takes_under_twice_its_size(settings):
    """docs/performance.md: 7.7 times the message before, 0.75 times now (the decoded
    attachment), beyond the raw bytes the caller holds anyway."""
    raw = attachment_message(10 * 1024 * 1024)

    peak = peak_of_parse(raw)

    assert peak < 2 * len(raw)


@pytest.mark.slow
@pytest.mark.parametrize("keep", [True, False], ids=["attachment-kept", "over-the-limit"])
def test_parsing_a_50_mb_message_takes_less_than_its_size(settings, keep):
    """The issue's measurement (docs/performance.md): a 50 MB message, its 37 MB
    attachment kept (limits raised: 0.75 times the message, the decoded attachment
    itself) or over MAIL_MAX_MESSAGE_BYTES (text only: almost nothing). Whole, the email
    package took 7.7 times. Slow (a few seconds): run with -m slow."""
    if keep:
        settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "MAX_MESSAGE_BYTES": 64 << 20}
        settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 64 << 20}
    raw = attachment_message(50 * 1000 * 1000)
    assert len(raw) > 50 * 1000 * 1000

    peak = peak_of_parse(raw)

    assert peak < (len(raw) if keep else len(raw) // 10)


def test_a_message_over_the_size_limit_is_parsed_in_almost_no_memory(settings):
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "MAX_MESSAGE_BYTES": 1024 * 1024}
    raw = attachment_message(10 * 1024 * 1024)

    peak = peak_of_parse(raw)

    assert peak < len(raw) // 10


@pytest.mark.parametrize("eol", [b"\n", b"\r"])
def test_other_line_ends_are_read_as_the_email_package_reads_them(eol, always_slim):
    raw = nested_message().replace(b"\r\n", eol)
    bodies.SLIM_ABOVE = 10**9  # the whole parse first
    whole = outcome(raw)
    bodies.SLIM_ABOVE = 0

    assert outcome(raw) == whole
    assert [a.filename for a in whole.attachments] == ["Invoice 7.eml", "a.pdf"]


def test_a_part_without_headers_is_plain_text(always_slim):
    raw = (
        b"From: a@acme.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\n\r\nno headers here\r\n--b--\r\n"
    )
    bodies.SLIM_ABOVE = 10**9
    whole = outcome(raw)
    bodies.SLIM_ABOVE = 0

    assert outcome(raw) == whole and whole.body == "no headers here"


def test_damaged_messages_never_crash_the_slimmed_parse(always_slim):
    import random

    rng = random.Random(7)
    for raw in [corpus(n, ORIGINAL_ID="<hd.1@x.test>") for n in CASES] + [nested_message()]:
        for _ in range(25):
            cut = bytearray(raw)
            i = rng.randrange(len(cut))
            cut[i : i + rng.randint(1, 20)] = rng.choice([b"", b"\r", b"\n\n", b"--", b"=?"])
            with contextlib.suppress(Unreadable):
                parse(bytes(cut))
