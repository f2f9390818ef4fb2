"""Address headers read strictly, with the standard library's header registry
(`email.policy.default`): an address is the addr-spec the registry parsed, never a
display name or a comment that looks like an address.

A From header that is not exactly one plain mailbox is flagged (`FromCheck.problem`):
more than one address, an address hidden in the display name or a comment (also inside
an RFC 2047 encoded word), or a header the registry found invalid. The message is then
treated as unverified, whatever the receiving server said about it.
"""

import re
from dataclasses import dataclass
from email.message import Message

from .charsets import decode_bytes

ANGLE_ADDR = re.compile(r"<([^<>@\s]+@[^<>@\s]+)>")
# an address-looking token anywhere in a decoded header
ADDRESS_LIKE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Mailbox:
    name: str
    address: str  # the addr-spec, lower-cased

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class FromCheck:
    mailboxes: tuple[Mailbox, ...]
    problem: str  # "" when the From header is one plain mailbox


def _clean_name(name: str) -> str:
    """Undecodable 8-bit bytes in a display name: UTF-8, else windows-1252."""
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        name = decode_bytes(name.encode("utf-8", errors="surrogateescape"), "utf-8")
    return " ".join(name.split())


def _header(msg: Message, name: str):
    try:
        return msg[name]
    except Exception:  # the registry's parser can raise on pathological input
        return None


def mailboxes(msg: Message, name: str) -> tuple[list[Mailbox], list[str]]:
    """(the mailboxes of an address header, the names of the registry's defects)."""
    header = _header(msg, name)
    if header is None:
        return [], []
    try:
        found = list(header.addresses)
        defects = [type(d).__name__ for d in header.defects]
    except Exception:
        return [], ["unparsable"]
    out = []
    for item in found:
        addr = (item.addr_spec or "").strip().lower()
        local, _, domain = addr.rpartition("@")
        if local and domain and " " not in addr:
            out.append(Mailbox(_clean_name(item.display_name or "")[:128], addr))
    return out, defects


def addresses(msg: Message, name: str) -> list[str]:
    return list(dict.fromkeys(m.address for m in mailboxes(msg, name)[0]))


def check_from(msg: Message, header_text: str) -> FromCheck:
    """The From mailboxes and what is wrong with the header, if anything.

    `header_text` is the header decoded (RFC 2047 words included), to find addresses
    hidden in display names and comments."""
    found, defects = mailboxes(msg, "From")
    if not found:
        return FromCheck((), "From has no address")
    if len(found) > 1:
        return FromCheck(tuple(found), f"From has {len(found)} addresses")
    if "InvalidHeaderDefect" in defects or "unparsable" in defects:
        angle = ANGLE_ADDR.findall(header_text)
        if len(angle) == 1:  # what a mail client shows and the MTA checks
            found = [Mailbox("", angle[0].lower())]
        return FromCheck(tuple(found), "From is malformed")
    address = found[0].address
    hidden = [a for a in ADDRESS_LIKE.findall(header_text) if a.lower() != address]
    if hidden or ADDRESS_LIKE.search(found[0].name):
        return FromCheck(tuple(found), "From hides another address in its display name")
    return FromCheck(tuple(found), "")
