"""Ticket numbers: a mask where each # is a digit, random (osTicket's default) or sequential.

Uniqueness is guaranteed by the unique constraint on Ticket.number: a random draw that
collides is drawn again (see services), and the sequence hands out each value once
because its row stays locked until the opening transaction ends.
"""

import secrets

from django.db.models import F

from .models import HelpdeskSettings, TicketSequence


def format_number(mask: str, value: int) -> str:
    """Fill the #s of the mask with `value`, zero-padded, most significant digit first.
    Digits that do not fit widen the last group of #s, as osTicket does:
    ###### with 42 -> 000042; ## with 12345 -> 12345; AB-##-### with 1234567 -> AB-12-34567.
    """
    slots = mask.count("#")
    digits = str(value).rjust(slots, "0")
    overflow = len(digits) - slots
    last_group = mask.rfind("#")
    while last_group > 0 and mask[last_group - 1] == "#":
        last_group -= 1
    out, pos = [], 0
    for i, ch in enumerate(mask):
        if ch != "#":
            out.append(ch)
            continue
        if i == last_group and overflow:
            out.append(digits[pos : pos + overflow])
            pos += overflow
        out.append(digits[pos])
        pos += 1
    return "".join(out)


def random_number(mask: str) -> str:
    return "".join(str(secrets.randbelow(10)) if ch == "#" else ch for ch in mask)


def sequence_take() -> int:
    """Take the next value. The UPDATE keeps the row locked until the caller commits."""
    updated = TicketSequence.objects.filter(pk=1).update(next_value=F("next_value") + 1)
    if not updated:
        TicketSequence.objects.get_or_create(pk=1)
        TicketSequence.objects.filter(pk=1).update(next_value=F("next_value") + 1)
    return TicketSequence.objects.values_list("next_value", flat=True).get(pk=1) - 1


def next_number(config: HelpdeskSettings) -> str:
    if config.number_mode == HelpdeskSettings.NumberMode.SEQUENCE:
        return format_number(config.number_format, sequence_take())
    return random_number(config.number_format)
