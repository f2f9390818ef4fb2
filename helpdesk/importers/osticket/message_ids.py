"""The Message-IDs osTicket sent, recognised at ingest (`helpdesk.mail.matching`).

osTicket stores the Message-IDs it receives (they come over on the entries) but not
those it sends: it builds them from the thread, the entry and the recipient, packed
into the local part (include/class.mailer.php, getMessageId; decodeMessageId reads them
back). Version B: `B<code>-<rand>-<tag>-<from-local>@<domain>` where tag is base64 of
(user id, entry id, thread id: 32-bit little-endian; recipient class: one character)
and five bytes of an HMAC-SHA1 keyed with the install's SECRET_SALT. Version A (older
installs): `A<code>-<rand>-<tag>-@<hex signature>`, the tag without the thread.

A reply citing one is mapped to the imported thread through the mapping table. With
`OSTICKET_SECRET_SALT` set (osTicket's include/ost-config.php), the signature must
verify; without it the shape is enough, which is no weaker than a Message-ID osTicket
received. Either way the mail channel's rules on who may add to a ticket still apply
(`helpdesk.mail.route`): finding a ticket is not joining it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct

from django.conf import settings

from ..models import ImportedObject

_B = re.compile(
    r"^<?B([A-Za-z0-9+/=]{6})-([A-Za-z0-9_=]{5})-([A-Za-z0-9+/]{20,32})-[^@<>\s]*@[^<>\s]+?>?$"
)
_A = re.compile(r"^<?A([A-Za-z0-9+/=]*)-([^-@<>\s]+)-([A-Za-z0-9+/=]+)-[^@<>\s]*@([0-9a-f]{10})>?$")


def _salt() -> bytes:
    return str(settings.HELPDESK_MAIL.get("OSTICKET_SECRET_SALT") or "").encode()


def _unpad(tag: str) -> bytes | None:
    try:
        return base64.b64decode(tag + "=" * (-len(tag) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def system_code(salt: bytes) -> str:
    digest = base64.b64encode(hashlib.md5(b"mail" + salt, usedforsecurity=False).digest())
    return digest.decode().replace("+", "=")[:6]


def decode(message_id: str) -> tuple[int, int] | None:
    """(osTicket thread id, entry id) named by a Message-ID osTicket sent; 0 when absent;
    None when it is not one (or its signature fails with the salt known)."""
    mid = (message_id or "").strip()
    salt = _salt()
    match = _B.match(mid)
    if match:
        _code, rand, tag = match.groups()
        raw = _unpad(tag)
        if raw is None or len(raw) < 18:
            return None
        if salt:
            signed = hmac.new(salt, raw[:13] + rand.encode() + system_code(salt).encode(), "sha1")
            if not hmac.compare_digest(signed.digest()[-5:], raw[13:18]):
                return None
        _uid, entry, thread = struct.unpack("<III", raw[:12])
        return thread, entry
    match = _A.match(mid)
    if match:
        _code, rand, tag, signature = match.groups()
        raw = _unpad(tag)
        if raw is None or len(raw) < 8:
            return None
        if salt:
            signed = hmac.new(salt, (tag + rand).encode(), "sha1").hexdigest()[-10:]
            if not hmac.compare_digest(signed, signature):
                return None
        _uid, entry = struct.unpack("<II", raw[:8])
        return 0, entry
    return None


def imported_thread(message_id: str) -> int | None:
    """Our thread id for a Message-ID osTicket sent about a thread we imported."""
    found = decode(message_id)
    if found is None:
        return None
    thread, entry = found
    rows = ImportedObject.objects.filter(source="osticket")
    if thread:
        ours = (
            rows.filter(kind="thread", source_id=str(thread))
            .values_list("object_id", flat=True)
            .first()
        )
        if ours is not None:
            return int(ours)
    if entry:
        from threads.models import ThreadEntry

        entry_id = (
            rows.filter(kind="entry", source_id=str(entry))
            .values_list("object_id", flat=True)
            .first()
        )
        if entry_id is not None:
            return (
                ThreadEntry.objects.filter(pk=entry_id).values_list("thread_id", flat=True).first()
            )
    return None
