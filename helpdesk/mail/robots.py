"""Mail from robots: auto-replies (never answered) and delivery status notifications.

Auto-replies are recognised by the headers RFC 3834 and the big mail systems use;
bounces by their MIME structure (multipart/report; report-type=delivery-status) or,
for old-style bounces, by the sender (MAILER-DAEMON, postmaster) with a failure header.
"""

import re
from email.message import Message

from .bodies import REF_HEADER

AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress", "list-id")
BULK_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
ROBOT_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.I)
MSGID_RE = re.compile(r"<[^<>\s]{1,250}>")


def _get(msg: Message, name: str) -> str | None:
    for key, value in getattr(msg, "_headers", []):
        if key.lower() == name:
            return str(value)
    return None


def auto_reason(msg: Message, sender: str) -> str:
    """Why this mail must not be answered automatically, or "" when a person sent it."""
    auto = _get(msg, "auto-submitted")
    if auto is not None and auto.strip().lower() != "no":
        return f"Auto-Submitted: {auto.strip()}"
    for name in AUTO_HEADERS:
        if _get(msg, name) is not None:
            return f"{name} header"
    precedence = (_get(msg, "precedence") or "").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if ROBOT_SENDERS.match(sender or ""):
        return f"robot sender {sender}"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    return ""


def _report_fields(part: Message) -> list[dict]:
    """The per-recipient blocks of a message/delivery-status part."""
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    out = []
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        if not isinstance(block, Message):
            continue
        fields = {k.lower(): str(v).strip() for k, v in block.items()}
        if fields:
            out.append(fields)
    if not out and isinstance(payload, str):  # some parsers leave it as text
        fields = {}
        for line in payload.splitlines():
            if ":" in line:
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        if fields:
            out.append(fields)
    return out


def _original_ids(msg: Message) -> list[str]:
    """Message-IDs of the message that bounced (from the returned headers or body)."""
    ids: list[str] = []
    refs = getattr(msg, "helpdesk_refs", None) or {}
    for part in msg.walk():
        ctype = part.get_content_type()
        ref = refs.get((_get(part, REF_HEADER.lower()) or "").strip())
        if ref is not None and ctype in ("message/rfc822", "text/rfc822-headers"):
            ids += MSGID_RE.findall(str(ref.head().get("Message-ID", "") or ""))  # left out
        elif ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                ids += MSGID_RE.findall(str(inner.get("Message-ID", "") or ""))
        elif ctype == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            match = re.search(rb"^Message-ID:\s*(<[^<>\s]+>)", text, re.I | re.M)
            if match:
                ids.append(match.group(1).decode("ascii", "replace"))
    return ids


def bounce_info(msg: Message, sender: str) -> dict | None:
    """For a delivery status notification: what failed and which message bounced."""
    is_report = (
        msg.get_content_type() == "multipart/report"
        and (msg.get_param("report-type") or "").lower() == "delivery-status"
    )
    robot = ROBOT_SENDERS.match(sender or "") and (
        _get(msg, "x-failed-recipients") is not None or "delivery" in str(msg.get("Subject", ""))
    )
    if not (is_report or robot):
        return None
    recipients = []
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            for fields in _report_fields(part):
                if "final-recipient" in fields or "action" in fields:
                    recipients.append(
                        {
                            "recipient": fields.get("final-recipient", "").split(";")[-1].strip(),
                            "action": fields.get("action", ""),
                            "status": fields.get("status", ""),
                            "diagnostic": fields.get("diagnostic-code", "")[:500],
                        }
                    )
    if not recipients and _get(msg, "x-failed-recipients"):
        for addr in (_get(msg, "x-failed-recipients") or "").split(","):
            recipients.append({"recipient": addr.strip(), "action": "failed", "status": ""})
    ids = _original_ids(msg)
    for name in ("in-reply-to", "references"):
        ids += MSGID_RE.findall(_get(msg, name) or "")
    failed = [r for r in recipients if r.get("action", "failed").lower() in ("failed", "")]
    return {
        "original_ids": list(dict.fromkeys(ids)),
        "recipients": recipients,
        "permanent": bool(failed) or not recipients,
    }
