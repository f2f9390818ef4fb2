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
    """Random digits in the mask, the first never 0, as osTicket draws them (its numbers
    read as the same integer: osTicket's sample API client casts the number it gets to
    an int). Unlike osTicket, a mask of fewer than six #s is not widened to six digits."""
    digits = mask.count("#")
    if not digits:
        return mask
    low = 10 ** (digits - 1)
    return format_number(mask, low + secrets.randbelow(9 * low))  # low .. 10 * low - 1


# The sequences' rows (TicketSequence), one per numbered kind.
TICKETS = 1
TASKS = 2


def sequence_take(kind: int = TICKETS) -> int:
    """Take the next value. The UPDATE keeps the row locked until the caller commits."""
    rows = TicketSequence.objects.filter(pk=kind)
    if not rows.update(next_value=F("next_value") + 1):
        TicketSequence.objects.get_or_create(pk=kind)
        rows.update(next_value=F("next_value") + 1)
    return rows.values_list("next_value", flat=True).get() - 1


def _number(mode: str, mask: str, kind: int) -> str:
    if mode == HelpdeskSettings.NumberMode.SEQUENCE:
        return format_number(mask, sequence_take(kind))
    return random_number(mask)


def next_number(config: HelpdeskSettings) -> str:
    return _number(config.number_mode, config.number_format, TICKETS)


def next_task_number(config: HelpdeskSettings) -> str:
    """A task's number, from its own mask and sequence (osTicket's default: `#`, in
    sequence, so #1, #2, ... widening as it grows)."""
    return _number(config.task_number_mode, config.task_number_format, TASKS)
