"""Reads of the mail channel for other surfaces (the staff panel): what agents are
shown about a message's sender and about addresses that bounce."""

from .models import InboundMessage
from .services import undeliverable

__all__ = ["sender_checks", "undeliverable"]


def sender_checks(entry_ids) -> dict[int, tuple[bool | None, str]]:
    """{entry id: (sender verified, why)} of the entries that came in by mail (one
    query). For agents only: the verdict on the sender of each message."""
    ids = [i for i in entry_ids if i]
    if not ids:
        return {}
    rows = InboundMessage.objects.filter(entry_id__in=ids).exclude(sender_check="")
    return {
        entry_id: (verified, check)
        for entry_id, verified, check in rows.values_list(
            "entry_id", "sender_verified", "sender_check"
        )
    }
