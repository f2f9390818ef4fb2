"""Large bodies stay in the raw bytes while the message is parsed.

Python's email parser holds a body as lines, then as one string, then as decoded bytes:
about eight times the message in memory at its peak (measured, docs/performance.md).
For a message over `SLIM_ABOVE`, `slim()` walks the MIME tree by its boundaries (read
from each part's headers by the standard library) and hands the parser a copy in which
every leaf body over `BIG_BODY` is replaced by a reference header naming its place in
the raw bytes. The parser then sees every header and the whole structure; a body is
decoded from the raw bytes only when it is used (`BodyRef.decode`), and never when
its size already rules it out (`BodyRef.estimated_size`).

Line ends are read as the email package reads them (CRLF, LF or a lone CR), and so
is the end of a part's headers. Nesting deeper than `MAX_DEPTH` makes `slim()` return
None: the message is then parsed whole. Known differences from the whole parse, on
bodies over 64 KiB only: a nested message (message/*) is kept as its original bytes
(the whole parse re-generates them) and is not walked into; uuencoded bodies are
parsed whole. On damaged input the two may differ in how a broken part is kept.
"""

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

SLIM_ABOVE = 1024 * 1024
BIG_BODY = 64 * 1024
MAX_DEPTH = 30
REF_HEADER = "X-Helpdesk-Body-Ref"
READ_IN_PLACE = ("message/delivery-status", "text/rfc822-headers")
MAX_READ_IN_PLACE = 1024 * 1024
DECODED_IN_PLACE = ("base64", "quoted-printable", "7bit", "8bit", "binary", "")
# line ends as the email package reads them: CRLF, LF, or a lone CR
_EOL = rb"(?:\r\n|\r(?!\n)|\n)"
_LINE = re.compile(rb"([^\r\n]*)(" + _EOL + rb"|)")
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")  # email.feedparser
_headers = BytesHeaderParser(policy=policy.compat32)


@dataclass(frozen=True)
class BodyRef:
    raw: bytes
    start: int
    end: int
    encoding: str  # Content-Transfer-Encoding, lower-cased

    def estimated_size(self) -> int:
        """The decoded size, without decoding (exact for well-formed base64)."""
        size = self.end - self.start
        if self.encoding != "base64":
            return size
        for char in (b"\n", b"\r", b" ", b"\t"):
            size -= self.raw.count(char, self.start, self.end)
        tail = self.raw[max(self.start, self.end - 8) : self.end].rstrip()
        return max(0, size * 3 // 4 - (len(tail) - len(tail.rstrip(b"="))))

    def head(self, limit: int = 64 * 1024):
        """The headers of a referenced message/rfc822 body."""
        return _headers.parsebytes(self.raw[self.start : min(self.end, self.start + limit)])

    def decode(self) -> bytes:
        view = memoryview(self.raw)[self.start : self.end]
        if self.encoding == "quoted-printable":
            return binascii.a2b_qp(view)
        if self.encoding != "base64":
            return bytes(view)
        try:
            return binascii.a2b_base64(view)
        except binascii.Error:  # damaged: what the email package would make of it
            return _lenient_base64(re.sub(rb"\s+", b"", view))


def _lenient_base64(data: bytes) -> bytes:
    """email._encoded_words.decode_b: pad, then skip bad characters, else the text."""
    padding = b"==="[: 4 - len(data) % 4] if len(data) % 4 else b""
    for candidate, strict in ((data + padding, True), (data, False), (data + b"==", False)):
        try:
            return base64.b64decode(candidate, validate=strict)
        except binascii.Error:
            continue
    return data


class _Slimmer:
    def __init__(self, raw: bytes):
        self.raw = raw
        self.nonce = secrets.token_hex(8)
        self.refs: dict[str, BodyRef] = {}
        self.out: list[bytes] = []

    def part(self, start: int, end: int, depth: int) -> None:
        """One MIME part, raw[start:end]; in a multipart (depth > 0) the line end
        before the next delimiter belongs to the delimiter, not to the body."""
        if end - start <= BIG_BODY:
            self.out.append(self.raw[start:end])
            return
        if depth > MAX_DEPTH:
            raise _Unusual("too deep")
        block_end, body_at = self.head_end(start, end)
        head = _headers.parsebytes(self.raw[start:body_at])
        ctype, boundary = head.get_content_type(), head.get_boundary()
        if ctype.startswith("multipart/") and boundary:
            self.out.append(self.raw[start:body_at])
            self.multipart(body_at, end, boundary.encode("utf-8", "surrogateescape"), depth)
            return
        if ctype in READ_IN_PLACE and end - start <= MAX_READ_IN_PLACE:
            self.out.append(self.raw[start:end])  # what robots.bounce_info reads
            return
        encoding = str(head.get("Content-Transfer-Encoding", "") or "").strip().lower()
        if encoding not in DECODED_IN_PLACE:  # uuencode and the like: the email package
            self.out.append(self.raw[start:end])
            return
        body_end = self._strip_newline(body_at, end) if depth else end
        key = f"{self.nonce}-{len(self.refs)}"
        self.refs[key] = BodyRef(self.raw, body_at, body_end, encoding)
        ref = f"{REF_HEADER}: {key}\r\n\r\n".encode()
        unended = block_end > start and self.raw[block_end - 1 : block_end] not in (b"\r", b"\n")
        self.out += [self.raw[start:block_end], b"\r\n" if unended else b"", ref]
        self.out.append(self.raw[body_end:end])

    def head_end(self, start: int, end: int) -> tuple[int, int]:
        """(end of the header lines, start of the body), as the email package splits
        them: the headers end at the first line that is not a header; an empty line
        there is the separator, any other line is the body's first."""
        pos = start
        while pos < end:
            line = _LINE.match(self.raw, pos, end)
            if not line.group(1):
                return pos, line.end()  # the empty separator line
            if not _HEADER_LINE.match(self.raw, pos, end):
                return pos, pos  # no separator: this line starts the body
            if not line.group(2):
                break
            pos = line.end()
        return end, end

    def _strip_newline(self, start: int, end: int) -> int:
        if self.raw[end - 2 : end] == b"\r\n" and end - 2 >= start:
            return end - 2
        if self.raw[end - 1 : end] in (b"\n", b"\r") and end - 1 >= start:
            return end - 1
        return end

    def multipart(self, start: int, end: int, boundary: bytes, depth: int) -> None:
        delimiter = re.compile(
            rb"(?:^|(?<=\r))--" + re.escape(boundary) + rb"(--)?[ \t]*(?:" + _EOL + rb"|\Z)",
            re.MULTILINE,
        )
        cursor, inside = start, False
        for found in delimiter.finditer(self.raw, start, end):
            if inside:
                self.part(cursor, found.start(), depth + 1)
            else:
                self.out.append(self.raw[cursor : found.start()])  # preamble
            self.out.append(found.group(0))
            cursor, inside = found.end(), True
            if found.group(1):  # the close delimiter: the rest is the epilogue
                break
        if inside and not self.out[-1].startswith(b"--" + boundary + b"--"):
            self.part(cursor, end, depth + 1)  # no close delimiter: the last part runs on
        else:
            self.out.append(self.raw[cursor:end])


class _Unusual(Exception):
    pass


def slim(raw: bytes) -> tuple[bytes, dict[str, BodyRef]] | None:
    """(the message with large bodies replaced by references, the references), or None
    when the message is small or unusual (parse it whole)."""
    if len(raw) <= SLIM_ABOVE:
        return None
    slimmer = _Slimmer(raw)
    try:
        slimmer.part(0, len(raw), 0)
    except Exception:  # whatever the walk did not foresee: parse the message whole
        return None
    return b"".join(slimmer.out), slimmer.refs
