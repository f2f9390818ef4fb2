"""What makes two deliveries the same message: the content hash.

The same message reaches us with different bytes: each path adds its own trace headers
(Received, Delivered-To, Return-Path, Authentication-Results, X-...), and a pipe gives
LF line ends where IMAP gives CRLF. The content hash covers what the author wrote: the
author headers below (unfolded, whitespace collapsed) and the body (line ends
normalised), streamed in chunks so a large message is not copied.

Same Message-ID and same content: a duplicate (a no-op). Same Message-ID, other content:
a different message that reuses the id, imported with a note. No Message-ID: the same
content is a duplicate when the message has a Date (the author's clock makes two sends
of the same words differ); without a Date either, nothing tells a redelivery from a new
message with the same words, so only the same bytes are one (`dedupe_hash`).
"""

import hashlib
import re

AUTHOR_HEADERS = (
    b"from",
    b"sender",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
)
CHUNK = 1024 * 1024
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FOLD = re.compile(rb"\r?\n[ \t]+")


def split_head(raw: bytes) -> int:
    """Offset of the body (after the blank line ending the header block)."""
    found = _HEADER_END.search(raw)
    return found.end() if found else len(raw)


def _author_headers(block: bytes) -> bytes:
    picked = []
    for line in _FOLD.sub(b" ", block).splitlines():
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() in AUTHOR_HEADERS:
            picked.append(name.strip().lower() + b":" + b" ".join(value.split()))
    return b"\n".join(sorted(picked))


def content_hash(raw: bytes) -> str:
    raw = bytes(raw or b"")
    body_at = split_head(raw)
    digest = hashlib.sha256(_author_headers(raw[:body_at]))
    digest.update(b"\n\n")
    view = memoryview(raw)
    carry = b""
    for start in range(body_at, len(raw), CHUNK):
        chunk = carry + bytes(view[start : start + CHUNK])
        carry = b"\r" if chunk.endswith(b"\r") else b""
        chunk = chunk[:-1] if carry else chunk
        digest.update(chunk.replace(b"\r\n", b"\n"))
    digest.update(carry)
    return digest.hexdigest()


_DATE = re.compile(rb"(?im)^date[ \t]*:")


def has_date(raw: bytes) -> bool:
    return _DATE.search(raw[: split_head(raw)]) is not None


def dedupe_hash(raw: bytes, message_id: str, raw_sha256: str) -> str:
    """What makes another delivery of this message a duplicate (with its Message-ID):
    its content hash, or for a message with neither a Message-ID nor a Date its bytes'
    hash (then only the same bytes are the same message)."""
    if message_id or has_date(raw):
        return content_hash(raw)
    return raw_sha256
