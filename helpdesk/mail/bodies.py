"""Large bodies stay in the raw bytes while the message is parsed.

Python's email parser holds a body as lines, then as one string, then as decoded bytes:
about eight times the message in memory at its peak (measured, docs/performance.md).
For a message over `SLIM_ABOVE`, `slim()` walks the MIME tree by its boundaries (read
from each part's headers by the standard library) and hands the parser a copy in which
every leaf body over `BIG_BODY` is replaced by a reference header naming its place in
the raw bytes. The parser then sees every header and the whole structure; a body is
decoded from the raw bytes only when it is used (`BodyRef.decode`), and never when
its size already rules it out (`BodyRef.estimated_size`).

Anything unusual (lone CR line ends, nesting deeper than `MAX_DEPTH`) makes `slim()`
return None: the message is then parsed whole, as before.
"""

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
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LONE_CR = re.compile(rb"\r(?!\n)")
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
        try:
            if self.encoding == "base64":
                return binascii.a2b_base64(view)
            if self.encoding == "quoted-printable":
                return binascii.a2b_qp(view)
        except (binascii.Error, ValueError):
            return b""
        return bytes(view)


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
        found = _HEAD_END.search(self.raw, start, end)
        body_at = found.end() if found else end
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
        body_end = self._strip_newline(body_at, end) if depth else end
        key = f"{self.nonce}-{len(self.refs)}"
        self.refs[key] = BodyRef(self.raw, body_at, body_end, encoding)
        block_end = found.start() if found else end
        newline = b"\r\n" if self.raw[block_end : block_end + 2] == b"\r\n" else b"\n"
        self.out += [self.raw[start:block_end], newline, f"{REF_HEADER}: {key}".encode()]
        self.out += [newline, newline, self.raw[body_end:end]]

    def _strip_newline(self, start: int, end: int) -> int:
        if self.raw[end - 2 : end] == b"\r\n" and end - 2 >= start:
            return end - 2
        if self.raw[end - 1 : end] == b"\n" and end - 1 >= start:
            return end - 1
        return end

    def multipart(self, start: int, end: int, boundary: bytes, depth: int) -> None:
        delimiter = re.compile(
            rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r\n|\n|\Z)", re.MULTILINE
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
    if len(raw) <= SLIM_ABOVE or _LONE_CR.search(raw):
        return None
    slimmer = _Slimmer(raw)
    try:
        slimmer.part(0, len(raw), 0)
    except (_Unusual, RecursionError, ValueError, LookupError):
        return None
    return b"".join(slimmer.out), slimmer.refs
