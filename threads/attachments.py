"""The attachment policy, one function for every channel (portal, panel, API, mail).

A file is refused when its extension or its type is denied, or when allowed lists are
set and it is on none of them. The type is checked as declared by the sender and as
sniffed from the content (puremagic, pure Python), so a program renamed `report.pdf` is
still a program. Settings: HELPDESK["ATTACHMENT_ALLOWED_EXTENSIONS"],
["ATTACHMENT_DENIED_EXTENSIONS"], ["ATTACHMENT_ALLOWED_TYPES"], ["ATTACHMENT_DENIED_TYPES"]
(README, docs/security.md).

Forms and the API turn a refusal into a field error (400); the mail parser drops the
part and notes it on the entry; the services call `attachments_validate` before storing.
"""

import mimetypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import puremagic
from django.conf import settings

from accounts.errors import ValidationFailed

if TYPE_CHECKING:
    from .services import NewAttachment

HEAD_BYTES = 8192  # enough for every signature we act on
SAFE_INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PE = "application/vnd.microsoft.portable-executable"
SCRIPT = "text/x-script"

# puremagic's names for programs, mapped to the type we deny them by (DENIED_TYPES)
_PROGRAMS = (
    ("ELF", "application/x-executable"),
    ("Mach-O", "application/x-mach-binary"),
    ("PEF executable", "application/x-pef-executable"),
    ("Java bytecode", "application/java-vm"),
    ("Dalvik", "application/vnd.android.dex"),
    ("Windows shortcut", "application/x-ms-shortcut"),
)
_SCRIPT_TYPES = {"application/x-shellscript", "text/x-python", "application/x-awk"}


class AttachmentRefused(ValidationFailed):
    """A file breaks the attachment policy (type or size): bad input, 400."""

    status = 400


def safe_filename(name: str) -> str:
    """The name as stored: no path, no control or reserved characters, no trailing dots."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".").strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    return name[:200] or "attachment"


def extension(filename: str) -> str:
    name = safe_filename(filename).lower()
    return name.rsplit(".", 1)[1].strip() if "." in name else ""


def _program_type(match: Any) -> str:  # a puremagic match (puremagic ships no types)
    if match.byte_match[:2] == b"MZ" or match.mime_type == PE:
        return PE
    for marker, mime in _PROGRAMS:
        if marker in match.name:
            return mime
    if match.mime_type in _SCRIPT_TYPES or match.name.lower().endswith("script"):
        return SCRIPT
    return ""


@dataclass(frozen=True)
class Sniffed:
    """What the bytes show: `program` is the type of a program or script ("" for
    anything else); `types` every MIME type the signature fits (a ZIP header fits a
    .docx as well as a .zip), the likeliest first."""

    program: str
    types: tuple[str, ...]

    @property
    def best(self) -> str:
        return self.program or (self.types[0] if self.types else "")


def sniff(content: bytes) -> Sniffed:
    """Programs and scripts are recognised among all of puremagic's candidates, so a
    weaker match naming a program wins over a stronger harmless one."""
    head = bytes(content[:HEAD_BYTES])
    if head.startswith(b"#!"):
        return Sniffed(SCRIPT, (SCRIPT,))  # the kernel runs any file that starts so
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return Sniffed("", ())
    program = next((p for p in map(_program_type, matches) if p), "")
    types = tuple(dict.fromkeys(m.mime_type.lower() for m in matches if m.mime_type))
    return Sniffed(program, types)


def _base_type(value: str) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _matches(mime: str, patterns: Iterable[str]) -> bool:
    if not mime:
        return False
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if pattern == mime or (pattern.endswith("/*") and mime.startswith(pattern[:-1])):
            return True
    return False


def _lower(values: Iterable[str]) -> set[str]:
    return {v.strip().lower().lstrip(".") for v in values if v.strip()}


def attachment_refusal(*, filename: str, content: bytes, content_type: str = "") -> str | None:
    """Why the policy refuses this file, for people; None when it is accepted."""
    conf = settings.HELPDESK
    ext = extension(filename)
    declared = _base_type(content_type)
    sniffed = sniff(content)
    if ext and ext in _lower(conf["ATTACHMENT_DENIED_EXTENSIONS"]):
        return f"files of type .{ext} are not accepted"
    denied = conf["ATTACHMENT_DENIED_TYPES"]
    if _matches(sniffed.program, denied):
        return f"its content is a program or script ({sniffed.program})"
    if _matches(declared, denied):
        return f"files of type {declared} are not accepted"
    allowed_ext = _lower(conf["ATTACHMENT_ALLOWED_EXTENSIONS"])
    if allowed_ext and ext not in allowed_ext:
        return f"files of type .{ext or '(none)'} are not accepted"
    allowed = conf["ATTACHMENT_ALLOWED_TYPES"]
    if allowed:
        # the content decides when it shows a type; plain text shows none
        guessed = _base_type(mimetypes.guess_type(safe_filename(filename))[0] or "")
        types = sniffed.types or tuple(t for t in (declared, guessed) if t)
        if not any(_matches(t, allowed) for t in types):
            return f"files of type {sniffed.best or declared or 'unknown'} are not accepted"
    return None


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size:,} bytes"


def attachments_validate(files: Sequence["NewAttachment"]) -> None:
    """Refuse the whole set, naming every file that breaks the policy or the size
    limit, before anything is stored."""
    limit = settings.HELPDESK["MAX_ATTACHMENT_BYTES"]
    too_big = [f.filename for f in files if len(f.content) > limit]
    if too_big:
        msg = f"Attachments over {human_size(limit)} are refused: {', '.join(too_big)}."
        raise AttachmentRefused(msg, code="attachment_too_large", fields={"attachments": [msg]})
    refused = []
    for f in files:
        why = attachment_refusal(
            filename=f.filename, content=f.content, content_type=f.content_type
        )
        if why:
            refused.append(f"{safe_filename(f.filename)}: {why}.")
    if refused:
        msg = "Attachment refused: " + " ".join(refused)
        raise AttachmentRefused(msg, code="attachment_refused", fields={"attachments": refused})


def inline_type(content_type: str, head: bytes) -> str | None:
    """The image type to show a file inline as, or None (a download): only the safe
    raster images, and only when the bytes agree with the stored type."""
    declared = _base_type(content_type)
    if declared not in SAFE_INLINE_IMAGES:
        return None
    sniffed = sniff(head)
    return declared if not sniffed.program and declared in sniffed.types else None
