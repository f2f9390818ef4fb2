"""RFC 822 bytes to a ParsedMessage: never a crash on bad input, whatever the charset.

Python's `email` package (policy.default) does the parsing; what it cannot decode is
decoded here with a fallback (the declared charset, then UTF-8, then Windows-1252 with
replacement characters). HTML is sanitised later, by threads.html, when the entry is
written; here it is only picked and decoded.
"""

import email
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import parseaddr

from django.conf import settings

from accounts.languages import shipped_code
from threads.attachments import attachment_refusal
from threads.services import NewAttachment

from . import tnef
from .addresses import addresses, check_from, mailboxes
from .bodies import REF_HEADER, BodyRef, slim
from .charsets import decode_bytes
from .robots import auto_reason, bounce_info

MSGID_RE = re.compile(r"<[^<>\s]{1,250}>")
MAX_BODY_CHARS = 1_000_000


class Unreadable(Exception):
    """The bytes are not a message we can do anything with (parked, exit 65)."""


@dataclass
class Dropped:
    filename: str
    size: int
    why: str


@dataclass
class ParsedMessage:
    message_id: str
    subject: str
    sender_email: str
    sender_name: str
    reply_to: str = ""
    reply_to_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    body: str = ""
    fmt: str = "text"
    attachments: list[NewAttachment] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown on the entry (e.g. TNEF)
    headers_text: str = ""
    headers: dict = field(default_factory=dict)
    auto_reason: str = ""
    bounce: dict | None = None
    from_problem: str = ""  # a From that is not one plain mailbox: never verified
    auth_results: list[str] = field(default_factory=list)  # Authentication-Results, top first
    language: str = ""  # Content-Language as a LANGUAGES code ("" unknown or absent)

    @property
    def sender_domain(self) -> str:
        return self.sender_email.rpartition("@")[2]

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, newest first (In-Reply-To, then References)."""
        ids = list(self.in_reply_to) + list(reversed(self.references))
        return list(dict.fromkeys(ids))


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


LEADING_BLANK_LINES = re.compile(rb"(?:[ \t]*\r?\n)+")


def without_leading_blank_lines(raw: bytes) -> bytes:
    """The message without the blank lines some MTAs and pipe wrappers put before its
    headers (a header block that starts with an empty line would be read as no headers
    at all). osTicket's parser skips them too. A message of blank lines stays as it is."""
    found = LEADING_BLANK_LINES.match(raw)
    if found is None or found.end() == len(raw):
        return raw
    return raw[found.end() :]


def header_text(msg: Message, name: str) -> str:
    """A header decoded to text (RFC 2047 words, unknown charsets), never raising.

    Works on the raw value (unfolded): cheaper than the header registry, and nothing
    in it can raise on a malformed header."""
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    text = _UNFOLD.sub(" ", raw)
    if "=?" in text:
        text = _decode_words(text)
    # raw 8-bit bytes in a header (no encoded words): UTF-8, else Windows-1252
    text = decode_bytes(text.encode("utf-8", errors="surrogateescape"), "utf-8")
    return " ".join(text.split())


_UNFOLD = re.compile(r"\r?\n[ \t]+")


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in getattr(msg, "_headers", []):
        if key.lower() == name.lower():
            return value if isinstance(value, str) else str(value)
    return None


def _decode_words(text: str) -> str:
    """RFC 2047 words, each charset read as mail clients do (charsets.decode_bytes)."""
    try:
        pairs = [
            (decode_bytes(chunk, charset).encode("utf-8"), "utf-8")
            if isinstance(chunk, bytes) and charset
            else (chunk, charset)
            for chunk, charset in decode_header(text)
        ]
        return str(make_header(pairs))
    except Exception:  # a malformed word (bad base64): each word alone, else as written
        return _ENCODED_WORD.sub(_decode_one_word, text)


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")


def _decode_one_word(match: re.Match) -> str:
    try:
        chunk, charset = decode_header(match.group(0))[0]
    except Exception:
        return match.group(0)
    return decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk


def message_ids(text: str) -> list[str]:
    return MSGID_RE.findall(text or "")


def body_ref(part: Message, refs: dict) -> BodyRef | None:
    """The raw-bytes reference of a body left out of the parse (bodies.slim)."""
    if not refs:
        return None
    key = _raw_header(part, REF_HEADER)
    return refs.get(key.strip()) if key else None


def _text_of(part: Message, refs: dict) -> str:
    ref = body_ref(part, refs)
    try:
        data = ref.decode() if ref is not None else part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(data, charset)


def _filename(part: Message, fallback: str) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name and "=?" in name:
        name = _decode_words(name)
    return (name or fallback).strip() or fallback


_SAFE_CID = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]{1,200}$")


def _content_id(part: Message) -> str:
    """The part's Content-ID (RFC 2392 characters only; anything else is dropped, as a
    Content-ID is the sender's text that ends up in an HTML attribute)."""
    cid = header_text(part, "Content-ID").strip().strip("<>")
    return cid if _SAFE_CID.match(cid) else ""


def _is_attachment(part: Message) -> bool:
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    return disposition == "attachment"


class _Walker:
    """Collects the body parts and the files of a message."""

    def __init__(self, refs: dict, raw_size: int):
        self.html: list[str] = []
        self.text: list[str] = []
        self.files: list[NewAttachment] = []
        self.dropped: list[Dropped] = []
        self.refs = refs
        self.raw_size = raw_size

    def walk(self, part: Message) -> None:
        ctype = part.get_content_type()
        if ctype.startswith("message/") and body_ref(part, self.refs) is not None:
            self._file(part, nested=True)  # a large nested message: kept whole, as .eml
        elif ctype == "multipart/alternative":
            self._alternative(part)
        elif ctype == "multipart/related":
            self._related(part)
        elif part.is_multipart() and ctype != "message/rfc822":
            for sub in part.get_payload() or []:
                if isinstance(sub, Message):
                    self.walk(sub)
        elif ctype == "message/rfc822" or ctype.startswith("message/"):
            self._file(part, nested=True)
        elif ctype in ("text/plain", "text/html") and not _is_attachment(part):
            (self.html if ctype == "text/html" else self.text).append(_text_of(part, self.refs))
        else:
            self._file(part)

    def _alternative(self, part: Message) -> None:
        """The richest alternative only (HTML; its text twin is derived from it)."""
        subs = [s for s in part.get_payload() or [] if isinstance(s, Message)]
        for wanted in ("text/html", "multipart/related", "multipart/mixed", "text/plain"):
            for sub in reversed(subs):
                if sub.get_content_type() == wanted:
                    self.walk(sub)
                    return
        if subs:
            self.walk(subs[-1])

    def _related(self, part: Message) -> None:
        subs = [s for s in part.get_payload() or [] if isinstance(s, Message)]
        if not subs:
            return
        self.walk(subs[0])
        for sub in subs[1:]:
            self._file(sub, inline=True)

    def _file(self, part: Message, *, nested: bool = False, inline: bool = False) -> None:
        ctype = part.get_content_type()
        ref = body_ref(part, self.refs)
        if nested:
            self._nested(part, ref)
            return
        cid = _content_id(part)
        ext = ctype.split("/")[-1].split("+")[0][:10] or "bin"
        name = _filename(part, f"{cid.split('@')[0] or 'attachment'}.{ext}")
        if ref is not None and self._too_big(name, ref.estimated_size()):
            return  # never decoded: its size rules it out
        try:
            content = (ref.decode() if ref is not None else part.get_payload(decode=True)) or b""
        except Exception:
            content = b""
        self.files.append(
            NewAttachment(
                filename=name,
                content=content,
                content_type=ctype,
                inline=bool(cid) and (inline or not _is_attachment(part)),
                content_id=cid,
            )
        )

    def _nested(self, part: Message, ref: BodyRef | None) -> None:
        """A message/rfc822 part: kept whole as an .eml attachment."""
        if ref is not None:
            subject = header_text(ref.head(), "Subject")
            name = _filename(part, (subject or "message")[:80] + ".eml")
            if not self._too_big(name, ref.estimated_size()):
                self.files.append(NewAttachment(name, ref.decode(), "message/rfc822"))
            return
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        content = inner.as_bytes(policy=policy.SMTP) if isinstance(inner, Message) else b""
        subject = header_text(inner, "Subject") if isinstance(inner, Message) else ""
        name = _filename(part, (subject or "message")[:80] + ".eml")
        self.files.append(NewAttachment(name, content, "message/rfc822"))

    def _too_big(self, name: str, size: int) -> bool:
        """Drop (noted) a referenced body the limits rule out, before decoding it."""
        if self.raw_size > settings.HELPDESK_MAIL["MAX_MESSAGE_BYTES"]:
            self.dropped.append(Dropped(name, size, "the message is over the limit"))
        elif size > settings.HELPDESK["MAX_ATTACHMENT_BYTES"]:
            self.dropped.append(Dropped(name, size, "over the attachment size limit"))
        else:
            return False
        return True


def _limit_files(files: list[NewAttachment], html: str, raw_size: int) -> tuple[list, list]:
    """Keep what fits the limits; the rest is listed as dropped (noted on the entry)."""
    conf = settings.HELPDESK_MAIL
    max_bytes = settings.HELPDESK["MAX_ATTACHMENT_BYTES"]
    kept, dropped = [], []
    for f in files:
        if f.inline and f.content_id and f"cid:{f.content_id}" not in html:
            f = NewAttachment(f.filename, f.content, f.content_type, False, f.content_id)
        if raw_size > conf["MAX_MESSAGE_BYTES"]:
            dropped.append(Dropped(f.filename, len(f.content), "the message is over the limit"))
        elif len(f.content) > max_bytes:
            dropped.append(Dropped(f.filename, len(f.content), "over the attachment size limit"))
        elif why := attachment_refusal(
            filename=f.filename, content=f.content, content_type=f.content_type
        ):
            dropped.append(Dropped(f.filename, len(f.content), why))
        elif len(kept) >= conf["MAX_ATTACHMENTS"]:
            dropped.append(Dropped(f.filename, len(f.content), "too many attachments"))
        elif not f.content:
            dropped.append(Dropped(f.filename, 0, "empty or undecodable"))
        else:
            kept.append(f)
    return kept, dropped


def _headers_text(raw: bytes) -> str:
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    block = raw[: end if end >= 0 else min(len(raw), 64 * 1024)]
    return decode_bytes(block[: 64 * 1024], "utf-8")


def parse(raw: bytes) -> ParsedMessage:
    """Parse a message; raises Unreadable only when there is nothing to work with."""
    if not raw or raw.isspace():  # (no copy of a large message)
        raise Unreadable("The message is empty.")
    slimmed = slim(raw)
    source, refs = slimmed if slimmed is not None else (raw, {})
    msg: EmailMessage = email.message_from_bytes(source, policy=policy.default)
    del source, slimmed
    msg.helpdesk_refs = refs  # for robots.bounce_info
    name, sender, from_problem = _sender(msg)
    walker = _Walker(refs, len(raw))
    walker.walk(msg)
    html = "\n".join(h for h in walker.html if h.strip())
    text = "\n\n".join(t.strip() for t in walker.text if t.strip())
    files, notes = tnef.unpack(walker.files)
    kept, dropped = _limit_files(files, html, len(raw))
    dropped = walker.dropped + dropped
    reply = mailboxes(msg, "Reply-To")[0]
    mid = message_ids(header_text(msg, "Message-ID"))
    return ParsedMessage(
        message_id=mid[0] if mid else "",
        subject=header_text(msg, "Subject")[:255],
        sender_email=sender,
        sender_name=name[:128],
        reply_to=reply[0].address if reply else "",
        reply_to_name=reply[0].name if reply else "",
        to=addresses(msg, "To"),
        cc=addresses(msg, "Cc"),
        in_reply_to=message_ids(header_text(msg, "In-Reply-To")),
        references=message_ids(header_text(msg, "References")),
        body=(html or text)[:MAX_BODY_CHARS],
        fmt="html" if html else "text",
        attachments=kept,
        dropped=dropped,
        notes=notes,
        headers_text=_headers_text(raw),
        headers=_header_dict(msg),
        auto_reason=auto_reason(msg, sender),
        bounce=bounce_info(msg, sender),
        from_problem=from_problem,
        auth_results=all_header_texts(msg, "Authentication-Results"),
        language=content_language(msg),
    )


def content_language(msg: Message) -> str:
    """The language the message says it is in: the first tag of its Content-Language
    (the message's own, else the first body part's that has one), as one of our
    LANGUAGES codes ("fr-FR" -> "fr", "pt-BR" -> "pt-br", "zh-Hans" -> "zh-hans");
    "" when it names none we have."""
    value = header_text(msg, "Content-Language")
    if value.strip():
        return shipped_code(value)
    if msg.get_content_maintype() != "multipart":  # a forwarded message's is not ours
        return ""
    for part in msg.get_payload() or ():
        if isinstance(part, Message) and part.get_content_maintype() in ("text", "multipart"):
            found = content_language(part)
            if found:
                return found
    return ""


def _sender(msg: Message) -> tuple[str, str, str]:
    """(display name, address, problem) of the sender: the From mailbox, read strictly.
    Without a From address, Sender or Return-Path (flagged: never verified)."""
    checked = check_from(msg, header_text(msg, "From"))
    if checked.mailboxes:
        first = checked.mailboxes[0]
        count = len(all_header_texts(msg, "From"))
        problem = checked.problem or (f"the message has {count} From headers" if count > 1 else "")
        return first.name, first.address, problem
    for name in ("Sender", "Return-Path"):
        found = mailboxes(msg, name)[0]
        if found:
            return found[0].name, found[0].address, f"no From address; {name} used"
    raise Unreadable("The message has no valid sender address (From).")


def all_header_texts(msg: Message, name: str, limit: int = 20) -> list[str]:
    """Every occurrence of a header, unfolded, top first (at most `limit`)."""
    found = []
    for key, value in getattr(msg, "_headers", []):
        if key.lower() == name.lower():
            found.append(" ".join(_UNFOLD.sub(" ", str(value)).split())[:4000])
            if len(found) >= limit:
                break
    return found


def _header_dict(msg: Message) -> dict:
    out = {}
    for key in msg:
        if key.lower() not in out and key.lower() != REF_HEADER.lower():
            out[key.lower()] = header_text(msg, key)[:1000]
    return out


def quick_message_id(raw: bytes) -> str:
    """The Message-ID from the header block alone (cheap, for duplicate checks)."""
    try:
        msg = email.message_from_bytes(raw[: 256 * 1024], policy=policy.compat32, _class=Message)
        found = message_ids(str(msg.get("Message-ID", "") or ""))
    except Exception:
        found = []
    return found[0] if found else ""


def sender_of(raw: bytes) -> str:
    try:
        msg = email.message_from_bytes(raw[: 256 * 1024], policy=policy.compat32)
        return parseaddr(str(msg.get("From", "") or ""))[1].lower()[:254]
    except Exception:
        return ""
