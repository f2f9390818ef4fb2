"""Posting to a ticket's thread: client messages, agent responses, internal notes."""

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

from django.db import models, transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext_lazy

from accounts.actors import Actor, actor_user, is_agent, is_api_key, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import User
from routing.models import Department
from threads import services as threads
from threads.models import Collaborator, ThreadEntry, ThreadEvent
from threads.services import NewAttachment

from .. import signals
from ..models import HelpdeskSettings, MergeMode, State, Ticket, TicketStatus
from ..permissions import (
    CLIENT_REPLY,
    check,
    check_key_writes,
    check_visible,
    client_refusal,
    reopen_target,
)
from ._common import channel_of, lock, record, require_state, save
from .assignment import announce_claim, claim_on_reply
from .locks import release_own_lock, require_unlocked
from .status import announce_status, apply_status, authorize_status

MAX_MERGE_HOPS = 10


class Signature(models.TextChoices):
    """What a reply is signed with (osTicket's choice on reply)."""

    NONE = "none", gettext_lazy("No signature")
    MINE = "mine", gettext_lazy("My signature")
    DEPARTMENT = "dept", gettext_lazy("Department signature")


def signature_text(choice: str | bool, agent: Actor, department: Department) -> str:
    """The text a reply is signed with: the agent's own signature, the department's (a
    public department's, as osTicket), or none. `True`/`False` (the API's and older
    callers' flag) are "mine" and "none"; anything else is refused."""
    if not isinstance(choice, bool) and choice not in Signature.values:
        raise ValidationFailed(
            f"Unknown signature {choice!r}: choose none, mine or dept.",
            code="invalid_signature",
            fields={"signature": ["Choose none, mine or dept."]},
        )
    if choice is True or choice == Signature.MINE:
        return (getattr(agent, "signature", "") or "").strip()
    if choice == Signature.DEPARTMENT and department.is_public:
        return (department.signature or "").strip()
    return ""


def signature_choices(agent: User, department: Department) -> list[tuple[str, str]]:
    """The signatures an agent may sign a reply with in a department: none, and the
    agent's and the department's when they have one (what the reply form offers)."""
    offered = [Signature.NONE]
    if signature_text(Signature.MINE, agent, department):
        offered.append(Signature.MINE)
    if signature_text(Signature.DEPARTMENT, agent, department):
        offered.append(Signature.DEPARTMENT)
    return [(str(choice.value), str(choice.label)) for choice in offered]


class Posted(NamedTuple):
    """What a post returns: the ticket as saved and the new entry."""

    ticket: Ticket
    entry: ThreadEntry


def _surviving(ticket: Ticket) -> Ticket:
    """A message to a merged ticket (combined or separate) goes to the ticket it was
    merged into; a linked child takes its own messages. Read from the database: the
    caller's copy may predate the merge."""
    pk = ticket.pk
    for _ in range(MAX_MERGE_HOPS):
        parent_id, mode = (
            Ticket.objects.filter(pk=pk).values_list("merged_into_id", "merge_mode").get()
        )
        if parent_id is None or mode == MergeMode.LINK:
            break
        pk = parent_id
    return ticket if pk == ticket.pk else Ticket.objects.get(pk=pk)


def ticket_post_message(
    *,
    actor: Actor,
    ticket: Ticket,
    body: str,
    fmt: str = ThreadEntry.Format.TEXT,
    files: Sequence[NewAttachment] = (),
    poster: User | None = None,
    source: str = ThreadEntry.Source.WEB,
    channel: str | None = None,
    message_id: str = "",
    email_headers: str = "",
    recipients: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> Posted:
    """A message from the client (or, through the system actor, from whoever mailed in;
    through an API key, from the requester, on a ticket of its write scope).

    Clears the answered flag; reopens a closed ticket when its status allows (osTicket),
    otherwise refuses with code ticket_closed so the channel can decide what to do.
    """
    channel = channel_of(actor, channel)
    if is_agent(actor):
        raise PermissionRefused("Agents post responses or internal notes, not client messages.")
    check_visible(actor, ticket)
    ticket = _surviving(ticket)
    check_key_writes(actor, ticket)
    config = HelpdeskSettings.load()
    stored = threads.files_store(list(files))
    with transaction.atomic():
        t = lock(ticket)
        refusal = client_refusal(actor, CLIENT_REPLY, t, config)
        if refusal is not None:
            raise refusal
        now = timezone.now()
        fields = ["last_message_at", "is_answered"]
        previous = t.status
        reopened = t.state == State.CLOSED
        if reopened:
            target = reopen_target(t, config)
            if target is None:  # refused above (client_refusal), as here
                raise Conflict(
                    f"Ticket #{t.number} is closed and cannot be reopened.", code="ticket_closed"
                )
            fields += apply_status(t, target, actor=actor, channel=channel, config=config)
        entry = threads.entry_create(
            thread_id=t.thread_id,
            kind=ThreadEntry.Kind.MESSAGE,
            body=body,
            fmt=fmt,
            poster=poster or actor_user(actor) or t.requester,
            source=source,
            files=stored,
            message_id=message_id,
            email_headers=email_headers,
            recipients=recipients,
            ip_address=ip_address,
        )
        t.last_message_at, t.is_answered = now, False
        record(t, ThreadEvent.Kind.MESSAGE, actor, channel, entry=entry.pk)
        save(t, *fields)
        send_on_commit(
            signals.ticket_message_posted,
            sender=Ticket,
            ticket=t,
            entry=entry,
            actor=actor,
            channel=channel,
            reopened=reopened,
        )
        if reopened:
            announce_status(t, actor=actor, channel=channel, previous=previous)
    return Posted(t, entry)


def ticket_post_reply(
    *,
    actor: Actor,
    ticket: Ticket,
    body: str,
    fmt: str = ThreadEntry.Format.TEXT,
    files: Sequence[NewAttachment] = (),
    status: TicketStatus | None = None,
    cc: Collection[int] | None = None,
    signature: str | bool = Signature.NONE,
    marker: Mapping[str, Any] | None = None,
    source: str = ThreadEntry.Source.WEB,
    channel: str | None = None,
    message_id: str = "",
    expected_version: int | None = None,
) -> Posted:
    """An agent's response to the client; may change the status in the same step.

    A closed ticket takes a reply only together with a status that reopens it. It is
    mailed to the requester and to the active collaborators in `cc` (user ids; None: all
    of them); a collaborator the ticket does not have is refused (`invalid_cc`).
    `signature` (a Signature: none, the agent's, the department's) is appended to the
    text (signature_text). `marker`: keys stored beside the
    recipients on the entry (the canned auto-reply marks itself so it is posted once).
    """
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    stored = threads.files_store(list(files))
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.reply", t)
        require_unlocked(t, actor)
        previous = t.status
        change = status if status is not None and status.pk != t.status_id else None
        if change is not None:
            authorize_status(actor, t, change, config)
        reopens = change is not None and change.state == State.OPEN
        if t.state != State.OPEN and not reopens:
            raise Conflict(
                f"Ticket #{t.number} is {t.get_state_display().lower()}: reopen it to reply.",
                code=f"ticket_{t.state}",
            )
        recipients = {**(marker or {}), **reply_recipients(t, cc)}
        fields = ["last_response_at", "is_answered"]
        if change is not None and reopens:
            fields += apply_status(t, change, actor=actor, channel=channel, config=config)
        entry = threads.entry_create(
            thread_id=t.thread_id,
            kind=ThreadEntry.Kind.RESPONSE,
            body=signed(body, fmt, signature_text(signature, actor, t.department)),
            fmt=fmt,
            poster=actor,
            source=source,
            files=stored,
            recipients=recipients,
            message_id=message_id,
        )
        t.last_response_at, t.is_answered = timezone.now(), True
        record(t, ThreadEvent.Kind.RESPONSE, actor, channel, entry=entry.pk)
        claimed = claim_on_reply(t, actor, channel)
        if claimed is not None:
            fields.append("assignee")
        if change is not None and not reopens:
            fields += apply_status(t, change, actor=actor, channel=channel, config=config)
        save(t, *fields)
        release_own_lock(t, actor)
        send_on_commit(
            signals.ticket_reply_posted,
            sender=Ticket,
            ticket=t,
            entry=entry,
            actor=actor,
            channel=channel,
        )
        if claimed is not None:
            announce_claim(t, actor=claimed, channel=channel)
        if change is not None:
            announce_status(t, actor=actor, channel=channel, previous=previous)
    return Posted(t, entry)


def reply_recipients(ticket: Ticket, cc: Collection[int] | None) -> dict[str, list[str]]:
    """Who a response is mailed to, as stored on the entry ({"to": [...], "cc": [...]}; the
    mail channel sends to those addresses only): the requester, and the ticket's active
    collaborators whose user ids are in `cc` (every one of them when `cc` is None)."""
    active = list(
        Collaborator.objects.filter(thread_id=ticket.thread_id, is_active=True)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    if cc is not None:
        chosen = set(cc)
        unknown = chosen - {c.user_id for c in active}
        if unknown:
            raise ValidationFailed(
                f"Not active collaborators of ticket #{ticket.number}: "
                f"{', '.join(str(pk) for pk in sorted(unknown))}.",
                code="invalid_cc",
                fields={"cc": ["Choose among the ticket's active collaborators."]},
            )
        active = [c for c in active if c.user_id in chosen]
    return {"to": [ticket.requester.email], "cc": [c.user.email for c in active]}


def signed(body: str, fmt: str, signature: str) -> str:
    """The body with a signature appended (osTicket's "-- " separator); an empty body or
    signature leaves it as it is."""
    if not (signature and body.strip()):
        return body
    if fmt == ThreadEntry.Format.HTML:
        lines = "<br>".join(escape(line) for line in signature.splitlines())
        return f"{body}<p>-- <br>{lines}</p>"
    return f"{body}\n\n-- \n{signature}"


def ticket_post_note(
    *,
    actor: Actor,
    ticket: Ticket,
    body: str,
    title: str = "",
    fmt: str = ThreadEntry.Format.TEXT,
    files: Sequence[NewAttachment] = (),
    source: str = ThreadEntry.Source.WEB,
    channel: str | None = None,
    is_system_note: bool = False,
) -> Posted:
    """An internal note: agents who can see the ticket (osTicket needs no more), API
    keys on tickets of their write scope, or the system."""
    channel = channel_of(actor, channel)
    if not (is_agent(actor) or is_api_key(actor) or is_system(actor)):
        raise PermissionRefused("Only agents post internal notes.", code="permission_denied")
    check_visible(actor, ticket)
    check_key_writes(actor, ticket)
    stored = threads.files_store(list(files))
    with transaction.atomic():
        t = lock(ticket)
        require_state(t, State.OPEN, State.CLOSED, State.ARCHIVED, action="take notes")
        entry = threads.entry_create(
            thread_id=t.thread_id,
            kind=ThreadEntry.Kind.NOTE,
            body=body,
            fmt=fmt,
            title=title,
            poster=actor,
            source=source,
            files=stored,
            is_system=is_system_note or is_system(actor),
        )
        record(t, ThreadEvent.Kind.NOTE, actor, channel, entry=entry.pk)
        save(t)
        send_on_commit(
            signals.ticket_note_posted,
            sender=Ticket,
            ticket=t,
            entry=entry,
            actor=actor,
            channel=channel,
        )
    return Posted(t, entry)
