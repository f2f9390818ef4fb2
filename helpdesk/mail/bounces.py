"""Delivery status notifications: a system note on the ticket the mail bounced from,
never a ticket, never a change of status, never a mail to the client. A hard bounce
(a permanent failure, 5.x.x) of a mail we sent marks its recipient undeliverable.

Only a report naming one of our outbound rows by its Message-ID can mark an address:
our Message-IDs are random and signed, so a forger would have to have received the
mail. The failed recipient must be the one that row was sent to.
"""

from accounts.actors import SYSTEM
from accounts.errors import Conflict
from threads.models import ThreadEntry
from tickets import services as tickets
from tickets.models import Ticket

from .ids import decode_message_id
from .models import InboundMessage, OutboundMessage
from .parsing import ParsedMessage
from .services import address_mark_undeliverable

S = InboundMessage.Status


def hard_failures(info: dict) -> dict[str, str]:
    """{recipient: why} of the permanent failures in a report."""
    out = {}
    for r in info.get("recipients", []):
        action, status = (r.get("action") or "").lower(), r.get("status") or ""
        if action == "failed" and (status.startswith("5") or not status):
            detail = " ".join(x for x in (status, r.get("diagnostic")) if x)
            out[(r.get("recipient") or "").strip().lower()] = detail or "permanent failure"
    return out


def record_bounce(parsed: ParsedMessage, channel: str, *, departments=None) -> tuple:
    """(status, ticket, entry, reason) of a delivery report. `departments` (an API key's
    write scope; None: any): a report about mail of a ticket outside them, or of no
    ticket, is dropped and changes nothing."""
    info = parsed.bounce or {}
    ids = info.get("original_ids", [])
    sent = OutboundMessage.objects.filter(message_id__in=ids).select_related("ticket").first()
    ticket = sent.ticket if sent is not None else None
    if ticket is None:
        ticket_ids = [t for t in (decode_message_id(i) for i in ids) if t]
        ticket = Ticket.objects.filter(pk__in=ticket_ids).first()
    if ticket is None and sent is None:
        return S.DROPPED, None, None, "A delivery report about no message of ours."
    if departments is not None and (ticket is None or ticket.department_id not in departments):
        return S.DROPPED, None, None, "A delivery report about mail outside the key's departments."
    marked = ""
    if sent is not None:
        OutboundMessage.objects.filter(pk=sent.pk).update(status=OutboundMessage.Status.BOUNCED)
        why = hard_failures(info).get(sent.recipient.lower())
        if why:
            address_mark_undeliverable(actor=SYSTEM, address=sent.recipient, reason=why)
            marked = f" {sent.recipient} marked undeliverable."
    if ticket is None:
        return S.DROPPED, None, None, f"Delivery report recorded.{marked}"
    try:
        posted = tickets.ticket_post_note(
            actor=SYSTEM,
            ticket=ticket,
            title="Mail delivery failed" if info.get("permanent") else "Mail delivery report",
            body=_bounce_text(info, sent, parsed, marked),
            source=ThreadEntry.Source.EMAIL,
            channel=channel,
            is_system_note=True,
        )
    except Conflict as exc:
        return S.DROPPED, ticket, None, f"Delivery report not recorded: {exc.message}"
    return S.APPENDED, posted.ticket, posted.entry, f"Delivery report recorded.{marked}"


def _bounce_text(info: dict, sent, parsed: ParsedMessage, marked: str) -> str:
    lines = []
    for r in info.get("recipients", []):
        detail = " ".join(x for x in (r.get("status"), r.get("diagnostic")) if x)
        lines.append(f"{r.get('recipient') or '?'}: {r.get('action') or 'failed'} {detail}".strip())
    if sent is not None:
        lines.append(f'The mail was "{sent.subject}" to {sent.recipient} ({sent.template}).')
    if marked:
        lines.append(
            f"Nothing more is mailed to {sent.recipient} until an agent clears it or "
            "verified mail from it arrives."
        )
    lines.append(f"Report from {parsed.sender_email}: {parsed.subject}")
    return "\n".join(lines)
