"""One message in: `ingest(raw, channel=..., mailbox=...)`, for the fetcher, the pipe
command and the API's `POST /api/tickets.email` alike.

1. Parse (outside any transaction; never raises for bad bytes) and store the attachments.
2. In one transaction: a bounce becomes a system note on the ticket it bounced from;
   mail from our own addresses is dropped; a reply goes to `ticket_post_message` (from
   an agent: `ticket_post_reply` or `ticket_post_note`); anything else to `ticket_open`.
   The InboundMessage row (raw bytes, outcome, ticket, entry) is inserted in the same
   transaction, so a ticket and the record of its message commit together or not at all.
   Its unique constraints (content hash; source + Message-ID) make a second delivery of
   the same message roll back whatever it did: it is reported as a duplicate.
3. Bad input is parked (stored with the reason, in a fresh transaction); a database
   outage raises TemporaryFailure (exit 75: the MTA retries, the fetcher leaves the
   message on the server). A crash at any point leaves nothing half-written.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.errors import Conflict, DomainError, PermissionRefused, ValidationFailed
from accounts.selectors import user_find_by_email
from accounts.services import user_get_or_create_by_email
from routing.selectors import email_is_banned
from threads import services as threads
from threads.models import Channel, ThreadEntry
from tickets import services as tickets
from tickets.models import Ticket

from . import outbound
from .agents import agent_post
from .matching import Match, find_ticket, received_ids
from .models import InboundMessage, Mailbox, MailSettings
from .parsing import ParsedMessage, Unreadable, parse, quick_message_id, sender_of, sha256
from .quoting import strip_quoted
from .scope import mail_settings, once, unit_of_work

log = logging.getLogger(__name__)
S = InboundMessage.Status
REOPEN_REFUSALS = ("ticket_closed", "ticket_archived", "ticket_deleted")
MAX_CC_COLLABORATORS = 10

EXIT_CODES = {  # osTicket's sysexits for the pipe
    S.CREATED: 0,
    S.APPENDED: 0,
    S.DUPLICATE: 0,
    S.DROPPED: 0,
    S.REJECTED: 77,  # EX_NOPERM: denied by a filter or the ban list
    S.PARKED: 65,  # EX_DATAERR: unreadable
}
EX_TEMPFAIL = 75


class TemporaryFailure(Exception):
    """The database is unavailable: nothing was decided, try the message again later."""


@dataclass(frozen=True)
class IngestResult:
    status: str
    ticket: Ticket | None = None
    reason: str = ""
    inbound_id: int | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


@dataclass
class Outcome:
    status: str
    ticket: Ticket | None = None
    entry: ThreadEntry | None = None
    reason: str = ""


def ingest(
    raw: bytes,
    *,
    channel: str = Channel.EMAIL,
    mailbox: Mailbox | None = None,
    server_uid="",
    departments: frozenset | None = None,
) -> IngestResult:
    """Import one RFC 822 message. Never raises for bad input; TemporaryFailure when the
    database is down. `departments` (an API key's write scope) limits which existing
    tickets a message may join: a reply to a ticket outside them opens a new ticket, as
    a stranger's would."""
    arrival = Arrival.of(raw, channel, mailbox, str(server_uid))
    try:
        return _process(arrival, departments=departments)
    except (OperationalError, InterfaceError) as exc:
        log.warning("mail ingest: temporary failure: %s", exc)
        raise TemporaryFailure(str(exc)) from exc


@dataclass(frozen=True)
class Arrival:
    """A message as it came in, before anything is decided."""

    raw: bytes
    channel: str
    mailbox: Mailbox | None
    server_uid: str
    sha256: str
    message_id: str
    source: str
    source_key: str

    @classmethod
    def of(cls, raw, channel, mailbox, server_uid) -> "Arrival":
        raw = bytes(raw or b"")
        if mailbox is not None:
            source, key = InboundMessage.Source.MAILBOX, f"mailbox:{mailbox.pk}"
        elif channel == Channel.API:
            source, key = InboundMessage.Source.API, "api"
        else:
            source, key = InboundMessage.Source.PIPE, "pipe"
        return cls(
            raw, channel, mailbox, server_uid[:128], sha256(raw), quick_message_id(raw)[:255],
            source, key,
        )  # fmt: skip

    def same(self) -> Q:
        """Records this arrival duplicates: same bytes, or same Message-ID and source."""
        q = Q(sha256=self.sha256)
        if self.message_id:
            q |= Q(source_key=self.source_key, message_id=self.message_id)
        return q


def _process(
    arrival: Arrival, existing: InboundMessage | None = None, departments: frozenset | None = None
) -> IngestResult:
    """Parse, then route and record in one transaction. The record's unique constraints
    (content hash; source + Message-ID) make a duplicate roll everything back."""
    try:
        parsed = parse(arrival.raw)
        threads.files_store(parsed.attachments)  # slow I/O outside the transaction
    except Unreadable as exc:
        return _park(arrival, str(exc), existing)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("mail ingest: cannot parse a message (%s)", arrival.sha256)
        return _park(arrival, f"Cannot parse the message: {exc!r}"[:2000], existing)
    try:
        with transaction.atomic():
            if existing is not None:  # reprocessing: hold the row
                InboundMessage.objects.select_for_update().filter(pk=existing.pk).first()
            with unit_of_work():
                outcome = _route(parsed, arrival.channel, arrival.mailbox, departments)
            record = _store(arrival, outcome, parsed, existing)
    except IntegrityError as exc:
        return _duplicate(arrival, exc)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("mail ingest: a message failed (%s)", arrival.sha256)
        return _park(arrival, f"Import failed: {exc!r}"[:2000], existing)
    if outcome.status == S.PARKED:
        log.error("mail ingest: parked inbound message %s: %s", record.pk, outcome.reason)
    return IngestResult(outcome.status, outcome.ticket, outcome.reason, record.pk)


def _store(arrival: Arrival, outcome: Outcome, parsed, existing=None) -> InboundMessage:
    values = {
        "status": outcome.status,
        "reason": outcome.reason[:2000],
        "ticket": outcome.ticket,
        "entry": outcome.entry,
        "is_auto": bool(parsed and (parsed.auto_reason or parsed.bounce)),
        "sender": (parsed.sender_email if parsed else sender_of(arrival.raw))[:254],
        "subject": (parsed.subject if parsed else "")[:255],
        "processed_at": timezone.now(),
    }
    if existing is not None:
        InboundMessage.objects.filter(pk=existing.pk).update(**values, attempts=F("attempts") + 1)
        return existing
    return InboundMessage.objects.create(
        source=arrival.source,
        source_key=arrival.source_key,
        mailbox=arrival.mailbox,
        server_uid=arrival.server_uid,
        message_id=arrival.message_id,
        sha256=arrival.sha256,
        raw=arrival.raw,
        size=len(arrival.raw),
        attempts=1,
        **values,
    )


def _duplicate(arrival: Arrival, exc: Exception) -> IngestResult:
    done = InboundMessage.objects.filter(arrival.same()).defer("raw").first()
    if done is None:  # not our constraint: a genuine failure
        log.error("mail ingest: integrity error (%s): %s", arrival.sha256, exc)
        return _park(arrival, f"Import failed: {exc!r}"[:2000])
    return IngestResult(S.DUPLICATE, done.ticket, "already imported", done.pk)


def _park(arrival: Arrival, reason: str, existing=None) -> IngestResult:
    try:
        with transaction.atomic():
            record = _store(arrival, Outcome(S.PARKED, reason=reason), None, existing)
    except IntegrityError as exc:
        return _duplicate(arrival, exc) if existing is None else _fail(reason, exc)
    log.error("mail ingest: parked inbound message %s: %s", record.pk, reason)
    return IngestResult(S.PARKED, None, reason, record.pk)


def _fail(reason: str, exc: Exception) -> IngestResult:  # pragma: no cover - defensive
    raise TemporaryFailure(f"{reason}; and could not park it: {exc}")


def our_addresses() -> set[str]:
    return once("ours", _our_addresses)


def _our_addresses() -> set[str]:
    from django.conf import settings

    from routing.models import Department

    mailboxes = Mailbox.objects.order_by().values_list("address", flat=True)
    departments = Department.objects.exclude(email="").order_by().values_list("email", flat=True)
    found = {a.lower() for a in mailboxes.union(departments)}
    found.add(settings.DEFAULT_FROM_EMAIL.lower())
    return found


def _route(parsed: ParsedMessage, channel: str, mailbox, departments=None) -> Outcome:
    if parsed.bounce is not None:
        return _bounce(parsed, channel)
    ours = our_addresses()
    if parsed.sender_email in ours:
        return Outcome(S.DROPPED, reason="Sent from one of our own addresses (mail loop).")
    known = received_ids([parsed.message_id, *parsed.thread_ids])
    if parsed.message_id in known:
        ticket = Ticket.objects.filter(pk=known[parsed.message_id]).first()
        return Outcome(S.DUPLICATE, ticket, reason="A message with this Message-ID is imported.")
    if email_is_banned(parsed.sender_email):
        return Outcome(S.REJECTED, reason=f"Denied: {parsed.sender_email} is banned.")
    sender = user_find_by_email(parsed.sender_email)
    config = mail_settings()
    match = find_ticket(parsed, sender, received=known)
    if (
        match.ticket is not None
        and departments is not None
        and match.ticket.department_id not in departments
    ):
        match = Match(None)  # the caller may not touch that ticket: a new one
    if match.ticket is not None:
        outcome = _append(parsed, match.ticket, sender, channel, config, ours)
        if outcome is not None:
            outcome.reason = outcome.reason or f"Threaded by {match.how}."
            return outcome
    return _open(parsed, sender, channel, mailbox, config, ours)


def _with_dropped_note(parsed: ParsedMessage, body: str) -> str:
    if not parsed.dropped:
        return body
    lines = [f"{d.filename} ({d.size:,} bytes): {d.why}" for d in parsed.dropped]
    if parsed.fmt == "html":
        items = "".join(f"<li>{_escape(line)}</li>" for line in lines)
        return f"{body}<p><em>Attachments not imported:</em></p><ul>{items}</ul>"
    return body + "\n\n[Attachments not imported: " + "; ".join(lines) + "]"


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


def _body(parsed: ParsedMessage, *, strip: bool, config: MailSettings) -> str:
    body = parsed.body
    if strip and config.strip_quoted_reply:
        body = strip_quoted(body, parsed.fmt, config.reply_separator)
    if not body.strip() and not parsed.attachments:
        body = "(no message body)"
    return _with_dropped_note(parsed, body)


def _cc_users(parsed: ParsedMessage, ours: set[str], exclude: set[str]) -> list:
    users = []
    for address in parsed.cc[:MAX_CC_COLLABORATORS]:
        if address in ours or address in exclude or email_is_banned(address):
            continue
        try:
            user, _ = user_get_or_create_by_email(actor=SYSTEM, email=address)
        except ValidationFailed:
            continue
        if not user.is_agent and user.is_active:
            users.append(user)
    return users


def _recipients(parsed: ParsedMessage) -> dict:
    return {"from": parsed.sender_email, "to": parsed.to, "cc": parsed.cc}


def _append(parsed, ticket: Ticket, sender, channel, config, ours) -> Outcome | None:
    """Post to the matched ticket; None when it cannot take messages (a new ticket then)."""
    body = _body(parsed, strip=True, config=config)
    if sender is not None and sender.is_agent and sender.is_active:
        return agent_post(parsed, ticket, sender, body, channel, config)
    poster = (
        sender
        or user_get_or_create_by_email(
            actor=SYSTEM, email=parsed.sender_email, name=parsed.sender_name
        )[0]
    )
    try:
        posted = tickets.ticket_post_message(
            actor=SYSTEM,
            ticket=ticket,
            body=body,
            fmt=parsed.fmt,
            files=parsed.attachments,
            poster=poster,
            source=ThreadEntry.Source.EMAIL,
            channel=channel,
            message_id=parsed.message_id,
            email_headers=parsed.headers_text,
            recipients=_recipients(parsed),
        )
    except Conflict as exc:
        if exc.code in REOPEN_REFUSALS:
            return None
        raise
    if config.add_cc_collaborators:
        exclude = {poster.email.lower(), posted.ticket.requester.email.lower()}
        for user in _cc_users(parsed, ours, exclude):
            try:
                tickets.ticket_add_collaborator(
                    actor=SYSTEM, ticket=posted.ticket, user=user, channel=channel
                )
            except DomainError:
                continue
    return Outcome(S.APPENDED, posted.ticket, posted.entry)


def _open(parsed, sender, channel, mailbox, config, ours) -> Outcome:
    try:
        requester = (
            sender
            or user_get_or_create_by_email(
                actor=SYSTEM, email=parsed.sender_email, name=parsed.sender_name
            )[0]
        )
    except ValidationFailed as exc:
        return Outcome(S.PARKED, reason=f"Unusable sender address: {exc.message}")
    collaborators = []
    if config.add_cc_collaborators:
        collaborators = _cc_users(parsed, ours, {requester.email.lower()})
    no_auto = bool(parsed.auto_reason) or bool(mailbox and mailbox.no_autoresponse)
    try:
        ticket = tickets.ticket_open(
            actor=SYSTEM,
            requester=requester,
            subject=parsed.subject or "(no subject)",
            body=_body(parsed, strip=False, config=config),
            fmt=parsed.fmt,
            source=Ticket.Source.EMAIL,
            department=mailbox.department if mailbox else None,
            topic=mailbox.topic if mailbox else None,
            priority=mailbox.priority if mailbox else None,
            files=parsed.attachments,
            collaborators=collaborators,
            channel=channel,
            message_id=parsed.message_id,
            email_headers=parsed.headers_text,
            autorespond=not no_auto,
            meta={
                "reply_to": parsed.reply_to,
                "reply_to_name": parsed.reply_to_name,
                "headers": parsed.headers,
            },
        )
    except PermissionRefused as exc:
        return Outcome(S.REJECTED, reason=f"Denied: {exc.message}")
    except Conflict as exc:
        if exc.code == "too_many_open_tickets" and not no_auto:
            outbound.overlimit_notice(requester=requester, subject=parsed.subject)
        return Outcome(S.REJECTED, reason=f"Refused: {exc.message}")
    except ValidationFailed as exc:
        return Outcome(S.PARKED, reason=f"Refused by the ticket service: {exc.message}")
    entry = ThreadEntry.objects.filter(thread_id=ticket.thread_id).order_by("id").first()
    return Outcome(S.CREATED, ticket, entry, reason="")


def _bounce(parsed: ParsedMessage, channel: str) -> Outcome:
    """A delivery failure: a system note on the ticket it bounced from, never a ticket."""
    from .models import OutboundMessage

    info = parsed.bounce or {}
    ids = info.get("original_ids", [])
    sent = OutboundMessage.objects.filter(message_id__in=ids).select_related("ticket").first()
    ticket = sent.ticket if sent is not None else None
    if ticket is None:
        from .ids import decode_message_id

        ticket_ids = [t for t in (decode_message_id(i) for i in ids) if t]
        ticket = Ticket.objects.filter(pk__in=ticket_ids).first()
    if ticket is None:
        return Outcome(S.DROPPED, reason="A delivery report about no message of ours.")
    if sent is not None:
        OutboundMessage.objects.filter(pk=sent.pk).update(status=OutboundMessage.Status.BOUNCED)
    try:
        posted = tickets.ticket_post_note(
            actor=SYSTEM,
            ticket=ticket,
            title="Mail delivery failed" if info.get("permanent") else "Mail delivery report",
            body=_bounce_text(info, sent, parsed),
            source=ThreadEntry.Source.EMAIL,
            channel=channel,
            is_system_note=True,
        )
    except Conflict as exc:
        return Outcome(S.DROPPED, ticket, reason=f"Delivery report not recorded: {exc.message}")
    return Outcome(S.APPENDED, posted.ticket, posted.entry, reason="Delivery report recorded.")


def _bounce_text(info: dict, sent, parsed: ParsedMessage) -> str:
    lines = []
    for r in info.get("recipients", []):
        detail = " ".join(x for x in (r.get("status"), r.get("diagnostic")) if x)
        lines.append(f"{r.get('recipient') or '?'}: {r.get('action') or 'failed'} {detail}".strip())
    if sent is not None:
        lines.append(f'The mail was "{sent.subject}" to {sent.recipient} ({sent.template}).')
    lines.append(f"Report from {parsed.sender_email}: {parsed.subject}")
    return "\n".join(lines)
