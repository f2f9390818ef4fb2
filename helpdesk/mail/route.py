"""What one parsed message does, inside the import transaction (called by
`inbound._process`). Mail is not proof of identity:

- a bounce is a system note on the ticket it bounced from; a hard bounce of a mail we
  sent marks the address undeliverable;
- mail from our own addresses is a loop: dropped;
- a reply (Message-ID, References, or the subject tag) joins its ticket only when the
  sender is verified (or trusted by policy) and a participant of the ticket (requester,
  active collaborator, agent who may see it); otherwise it opens a new ticket linked to
  the one it names, or, by policy, becomes an agents-only note marked "unverified
  sender";
- a reply to mail about a task (one of our task Message-IDs) goes to that task and
  nowhere else: an update posted by an agent who may, else parked (task_replies);
- an automatic reply never changes a ticket: it is a system note;
- Cc addresses become collaborators only on accepted mail from a participant;
- anything else opens a ticket for its sender.
"""

from contextlib import suppress
from dataclasses import dataclass

from accounts.actors import SYSTEM
from accounts.errors import Conflict, DomainError, PermissionRefused, ValidationFailed
from accounts.selectors import user_find_by_email
from accounts.services import user_get_or_create_by_email
from routing.selectors import email_is_banned
from threads.models import ThreadEntry
from tickets import services as tickets
from tickets.models import Ticket

from . import outbound
from .agents import agent_post
from .authentication import INTERNAL_NOTE, Verdict
from .bounces import record_bounce
from .matching import Match, find_task, find_ticket, is_participant, received_ids
from .models import InboundMessage, Mailbox, MailSettings
from .parsing import ParsedMessage
from .quoting import strip_quoted
from .scope import mail_settings
from .services import address_clear_undeliverable
from .task_replies import task_reply

S = InboundMessage.Status
REOPEN_REFUSALS = ("ticket_closed", "ticket_archived", "ticket_deleted")
MAX_CC_COLLABORATORS = 10


@dataclass
class Outcome:
    status: str
    ticket: Ticket | None = None
    entry: ThreadEntry | None = None
    reason: str = ""
    original: str = ""  # a duplicate: the status of the message it repeats


@dataclass
class Context:
    """One message being routed, and what is known about it."""

    parsed: ParsedMessage
    channel: str
    mailbox: Mailbox | None
    verdict: Verdict
    content_hash: str
    ours: set[str]
    config: MailSettings | None = None
    departments: frozenset | None = None
    reprocessing: int | None = None  # the parked record being processed again


def route(ctx: Context) -> Outcome:
    parsed = ctx.parsed
    if parsed.bounce is not None:
        return Outcome(*record_bounce(parsed, ctx.channel, departments=ctx.departments))
    if parsed.sender_email in ctx.ours:
        return Outcome(S.DROPPED, reason="Sent from one of our own addresses (mail loop).")
    known = received_ids([parsed.message_id, *parsed.thread_ids])
    earlier = _earlier(ctx, known)
    if isinstance(earlier, Outcome):
        return earlier
    if email_is_banned(parsed.sender_email):
        return Outcome(S.REJECTED, reason=f"Denied: {parsed.sender_email} is banned.")
    sender = user_find_by_email(parsed.sender_email)
    ctx.config = mail_settings()
    if ctx.verdict.accepted:
        address_clear_undeliverable(actor=SYSTEM, address=parsed.sender_email, why="mail from it")
    outcome = _continue(ctx, sender, known)
    if earlier and outcome.ticket is not None:
        _note_reused_id(ctx, outcome, earlier)
    return outcome


def _continue(ctx: Context, sender, known) -> Outcome:
    task = find_task(ctx.parsed, known)
    if task is not None:
        return task_reply(ctx, task, sender)
    match = find_ticket(ctx.parsed, sender, received=known)
    scoped_out = ctx.departments is not None and match.ticket is not None
    if scoped_out and match.ticket.department_id not in ctx.departments:
        match = Match(None)  # the caller may not touch that ticket: a new one
    if match.ticket is None:
        return open_ticket(ctx, sender)
    outcome = _reply(ctx, match, sender)
    if outcome is not None:
        outcome.reason = outcome.reason or f"Threaded by {match.how}."
        return outcome
    return open_ticket(ctx, sender)


def _earlier(ctx: Context, known: dict) -> "Outcome | str":
    """A duplicate (same Message-ID, same content), or a description of the earlier
    message whose Message-ID this one reuses with other content ("" when none)."""
    message_id = ctx.parsed.message_id
    rows = InboundMessage.objects.filter(message_id=message_id).exclude(status=S.DUPLICATE)
    rows = rows.exclude(pk=ctx.reprocessing).order_by("id")
    if not message_id:  # no id: the same content (fingerprint.dedupe_hash) or nothing
        rows = rows.filter(content_hash=ctx.content_hash)
    found = list(rows.values_list("pk", "content_hash", "ticket_id", "status")[:50])  # one query
    same = next((row for row in found if row[1] == ctx.content_hash), None)
    if same is not None:
        ticket = Ticket.objects.filter(pk=same[2]).first() if same[2] else None
        return Outcome(
            S.DUPLICATE,
            ticket,
            reason="A message with this content is imported.",
            original=same[3],
        )
    if found:
        return f"inbound message {found[0][0]}"
    if message_id in known:
        return f"an entry of ticket id {known[message_id]}"
    return ""


def _note_reused_id(ctx: Context, outcome: Outcome, earlier: str) -> None:
    text = (
        f"This message reuses the Message-ID {ctx.parsed.message_id} of an earlier message "
        f"({earlier}) with other content: it was imported, not dropped as a duplicate."
    )
    with suppress(DomainError):  # a ticket that takes no notes keeps the reason only
        tickets.ticket_post_note(
            actor=SYSTEM,
            ticket=outcome.ticket,
            title="Message-ID seen before",
            body=text,
            source=ThreadEntry.Source.EMAIL,
            channel=ctx.channel,
            is_system_note=True,
        )
    outcome.reason = f"{outcome.reason} Message-ID seen before with other content.".strip()


def _reply(ctx: Context, match: Match, sender) -> Outcome | None:
    """A message naming an existing ticket; None when a plain new ticket is right."""
    ticket = match.ticket
    if not ctx.verdict.accepted:
        why = f"Unverified sender ({ctx.verdict.reason})"
        if ctx.verdict.policy == INTERNAL_NOTE:
            noted = _unverified_note(ctx, ticket)
            if noted is not None:
                return noted
        return open_ticket(ctx, sender, linked_to=ticket, why=why)
    if sender is None or not is_participant(ticket, sender):
        why = f"{ctx.parsed.sender_email} is not a participant of #{ticket.number}"
        return open_ticket(ctx, sender, linked_to=ticket, why=why)
    if ctx.parsed.auto_reason:
        return _robot_note(ctx, ticket)
    body = _body(ctx.parsed, strip=True, config=ctx.config)
    if sender.is_agent and sender.is_active:
        return agent_post(ctx.parsed, ticket, sender, body, ctx.channel, ctx.config)
    return _append(ctx, ticket, sender, body)


def _note(ctx: Context, ticket: Ticket, title: str, reason: str) -> Outcome | None:
    """An agents-only system note holding the message; None when the ticket takes none."""
    try:
        posted = tickets.ticket_post_note(
            actor=SYSTEM,
            ticket=ticket,
            title=title[:255],
            body=_body(ctx.parsed, strip=True, config=ctx.config),
            fmt=ctx.parsed.fmt,
            files=ctx.parsed.attachments,
            source=ThreadEntry.Source.EMAIL,
            channel=ctx.channel,
            is_system_note=True,  # system notes alert no one: never mailed
        )
    except Conflict:
        return None
    return Outcome(S.APPENDED, posted.ticket, posted.entry, reason=reason)


def _unverified_note(ctx: Context, ticket: Ticket) -> Outcome | None:
    sender = ctx.parsed.sender_email
    return _note(
        ctx,
        ticket,
        f"Unverified sender: {sender} ({ctx.verdict.reason})",
        f"Unverified sender ({ctx.verdict.reason}): kept as an internal note.",
    )


def _robot_note(ctx: Context, ticket: Ticket) -> Outcome | None:
    """An auto-reply never reopens, changes or notifies: a system note for agents."""
    why = ctx.parsed.auto_reason
    return _note(
        ctx,
        ticket,
        f"Automatic reply from {ctx.parsed.sender_email} ({why})",
        f"Automatic reply ({why}): recorded as a system note.",
    )


def _with_dropped_note(parsed: ParsedMessage, body: str) -> str:
    sections = []
    if parsed.dropped:
        lines = [f"{d.filename} ({d.size:,} bytes): {d.why}" for d in parsed.dropped]
        sections.append(("Attachments not imported", lines))
    if parsed.notes:
        sections.append(("Attachments", parsed.notes))
    for title, lines in sections:
        if parsed.fmt == "html":
            from html import escape

            items = "".join(f"<li>{escape(line)}</li>" for line in lines)
            body = f"{body}<p><em>{title}:</em></p><ul>{items}</ul>"
        else:
            body = body + f"\n\n[{title}: " + "; ".join(lines) + "]"
    return body


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


def _append(ctx: Context, ticket: Ticket, poster, body: str) -> Outcome | None:
    """A participant's message on its ticket; None when it cannot take messages."""
    parsed = ctx.parsed
    try:
        posted = tickets.ticket_post_message(
            actor=SYSTEM,
            ticket=ticket,
            body=body,
            fmt=parsed.fmt,
            files=parsed.attachments,
            poster=poster,
            source=ThreadEntry.Source.EMAIL,
            channel=ctx.channel,
            message_id=parsed.message_id,
            email_headers=parsed.headers_text,
            recipients={"from": parsed.sender_email, "to": parsed.to, "cc": parsed.cc},
        )
    except Conflict as exc:
        if exc.code in REOPEN_REFUSALS:
            return None
        raise
    if ctx.config.add_cc_collaborators and ctx.verdict.accepted:
        exclude = {poster.email.lower(), posted.ticket.requester.email.lower()}
        for user in _cc_users(parsed, ctx.ours, exclude):
            try:
                tickets.ticket_add_collaborator(
                    actor=SYSTEM, ticket=posted.ticket, user=user, channel=ctx.channel
                )
            except DomainError:
                continue
    return Outcome(S.APPENDED, posted.ticket, posted.entry)


def open_ticket(ctx: Context, sender, *, linked_to: Ticket | None = None, why="") -> Outcome:
    """A new ticket for the sender's address. `linked_to`: the ticket the message named
    but may not join; the new one is linked to it, takes no Cc collaborators, and so
    nothing of it is mailed to that ticket's people."""
    parsed, mailbox = ctx.parsed, ctx.mailbox
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
    if ctx.config.add_cc_collaborators and _may_add_cc(ctx, linked_to):
        collaborators = _cc_users(parsed, ctx.ours, {requester.email.lower()})
    no_auto = bool(parsed.auto_reason) or bool(mailbox and mailbox.no_autoresponse)
    try:
        new = tickets.NewTicket(
            requester=requester,
            subject=parsed.subject or "(no subject)",
            body=_body(parsed, strip=False, config=ctx.config),
            fmt=parsed.fmt,
            source=Ticket.Source.EMAIL,
            department=mailbox.department if mailbox else None,
            topic=mailbox.topic if mailbox else None,
            priority=mailbox.priority if mailbox else None,
            files=parsed.attachments,
            collaborators=collaborators,
            channel=ctx.channel,
            message_id=parsed.message_id,
            email_headers=parsed.headers_text,
            language=parsed.language,
            autorespond=not no_auto,
            meta={
                "reply_to": parsed.reply_to,
                "reply_to_name": parsed.reply_to_name,
                "headers": parsed.headers,
            },
        )
        # mail opens as the system, also when an API key posted it: the key carries the
        # mail (as a mailbox does), it does not write it (see docs/email.md)
        ticket = tickets.ticket_open(actor=SYSTEM, new=new)
    except (PermissionRefused, Conflict, ValidationFailed) as exc:
        return _refused(exc, requester, ctx, no_auto)
    entry = ThreadEntry.objects.filter(thread_id=ticket.thread_id).order_by("id").first()
    if linked_to is None:
        return Outcome(S.CREATED, ticket, entry, reason="")
    tickets.ticket_link(actor=SYSTEM, ticket=ticket, other=linked_to, channel=ctx.channel)
    reason = f"{why}: opened as a new ticket linked to #{linked_to.number}."
    return Outcome(S.CREATED, ticket, entry, reason=reason)


def _may_add_cc(ctx: Context, linked_to: Ticket | None) -> bool:
    return ctx.verdict.accepted and linked_to is None and not ctx.parsed.auto_reason


def _refused(exc: DomainError, requester, ctx: Context, no_auto: bool) -> Outcome:
    if isinstance(exc, PermissionRefused):
        return Outcome(S.REJECTED, reason=f"Denied: {exc.message}")
    if isinstance(exc, Conflict):
        # the over-limit notice goes only to a sender who is who they say (verified, or
        # MAIL_UNVERIFIED_POLICY=trust): else we would mail whoever the From names
        if exc.code == "too_many_open_tickets" and not no_auto and ctx.verdict.accepted:
            outbound.overlimit_notice(requester=requester, subject=ctx.parsed.subject)
        return Outcome(S.REJECTED, reason=f"Refused: {exc.message}")
    return Outcome(S.PARKED, reason=f"Refused by the ticket service: {exc.message}")
