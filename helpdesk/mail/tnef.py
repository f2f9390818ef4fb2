"""`winmail.dat` (Outlook's TNEF wrapper) unpacked into the files it carries, with
`tnefparse`. When it cannot be unpacked (damaged, or nothing but a rich-text body
inside), the file is kept as it came and the entry says so."""

import logging
import mimetypes

from threads.services import NewAttachment

log = logging.getLogger(__name__)
TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")


def is_tnef(attachment: NewAttachment) -> bool:
    return (
        attachment.content_type.lower() in TNEF_TYPES
        or attachment.filename.strip().lower() == "winmail.dat"
    )


def _files_of(content: bytes) -> list[NewAttachment]:
    from tnefparse import TNEF

    found = []
    for item in TNEF(content, do_checksum=False).attachments:
        data = bytes(item.data or b"")
        name = str(item.long_filename() or item.name or "").strip("\x00 ").strip()
        if not data:
            continue
        name = name or f"attachment-{len(found) + 1}.bin"
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        found.append(NewAttachment(name[:255], data, ctype))
    return found


def unpack(files: list[NewAttachment]) -> tuple[list[NewAttachment], list[str]]:
    """(the files with each TNEF wrapper replaced by its contents, notes for the entry)."""
    out, notes = [], []
    for attachment in files:
        if not is_tnef(attachment):
            out.append(attachment)
            continue
        try:
            inner = _files_of(attachment.content)
        except Exception as exc:  # tnefparse raises many kinds on damaged input
            log.info("mail: cannot unpack %s: %r", attachment.filename, exc)
            inner = []
        if inner:
            out += inner
            names = ", ".join(f.filename for f in inner)
            notes.append(f"{attachment.filename} (Outlook TNEF) unpacked: {names}")
        else:
            out.append(attachment)
            notes.append(
                f"{attachment.filename} (Outlook TNEF) could not be unpacked: kept as it came"
            )
    return out, notes
