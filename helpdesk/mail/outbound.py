"""Mail out: render a template for one recipient, store it (OutboundMessage) with our
Message-ID and the thread headers, and send it after commit through the outbox
(helpdesk.outbox: a worker or the periodic job, never the request).

Every mail carries our Message-ID, In-Reply-To and References, so the next reply
threads. Client mail starts with the reply separator, so quoted history is cut off
when they answer. Internal notes are refused for anyone but agents, here, whatever
the caller asked; so is every mail about a task (`task=`, or a task template): tasks
never reach a client. Nothing is queued for an address marked undeliverable (a hard
bounce) until it is cleared.
"""

import hashlib
import html
import logging
import re
from datetime import timedelta
from email.utils import formataddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from accounts.actors import SYSTEM
from accounts.errors import DomainError, PermissionRefused
from accounts.links import site_url
from helpdesk.outbox.services import enqueue, enqueue_many
from helpdesk.translations import language_of, status_name, topic_name
from threads.html import sanitize_html
from threads.models import ThreadEntry
from tickets.models import Task, Ticket

from . import templates
from .ids import make_message_id, make_task_message_id
from .models import Mailbox, OutboundMessage
from .scope import mail_settings
from .services import undeliverable

log = logging.getLogger(__name__)

CLIENT_TEMPLATES = {
    "ticket.autoresp",
    "message.autoresp",
    "ticket.notice",
    "ticket.overlimit",
    "ticket.reply",
    "ticket.activity.notice",
}
AUTO_TEMPLATES = {"ticket.autoresp", "message.autoresp", "ticket.overlimit"}
TASK_TEMPLATES = set(templates.TASK_DEFAULTS)  # to agents only, always


def base_url() -> str:
    return site_url()


def ticket_url(ticket: Ticket, *, for_agent: bool, recipient=None) -> str:
    """The ticket's page: the panel's for agents; the portal's for clients, where a
    guest (no password) gets a signed link that opens it without a second mail."""
    if for_agent:
        return site_url(f"/scp/tickets/{ticket.number}/")
    if recipient is not None and hasattr(recipient, "has_usable_password"):
        from helpdesk.portal.ticket_links import ticket_url as portal_ticket_url

        return portal_ticket_url(ticket=ticket, user=recipient)
    return site_url(f"/tickets/{ticket.number}/")


def task_url(task: Task) -> str:
    """The task's page in the staff panel (tasks have no page anywhere else)."""
    return site_url(f"/scp/tasks/{task.number}/")


def from_address(department) -> str:
    address = getattr(department, "email", "") or ""
    if not address and department is not None:
        address = (
            Mailbox.objects.filter(department=department, is_active=True)
            .values_list("address", flat=True)
            .first()
            or ""
        )
    address = address or settings.DEFAULT_FROM_EMAIL
    name = getattr(department, "name", "") or ""
    return formataddr((name, address)) if name else address


def recipient_language(recipient, *, is_agent: bool, ticket: Ticket | None = None) -> str:
    """The language mail to `recipient` is written in: an agent's panel preference; a
    client's portal preference, else the language the ticket recorded; else the site's
    (settings.LANGUAGE_CODE). helpdesk.translations.language_of reads them through the
    user's reverse relations, so the mail channel imports neither panel nor portal."""
    return language_of(recipient, is_agent=is_agent, ticket=ticket)


def ticket_values(ticket: Ticket, *, for_agent: bool = True) -> dict:
    """The ticket for the templates, in the active language (its status and topic
    translated); clients read its status by its client-facing name."""
    due = ticket.effective_due_at
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": status_name(ticket.status, for_client=not for_agent),
        "priority": str(ticket.priority),
        "department": ticket.department.name,
        "topic": topic_name(ticket.topic) if ticket.topic_id else "",
        "requester_name": ticket.requester.display_name,
        "requester_email": ticket.requester.email,
        "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M %Z") if due else "",
        "created": timezone.localtime(ticket.created_at).strftime("%Y-%m-%d %H:%M %Z"),
    }


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else ""


def task_values(task: Task) -> dict:
    """A task for the task templates (sandbox.TASK_VARIABLES): plain text only. Its
    ticket is named by number alone: an agent may see a task without its ticket."""
    agent, team, ticket = task.assignee, task.team, task.ticket
    return {
        "number": task.number,
        "title": task.title,
        "status": task.get_state_display(),
        "department": task.department.name,
        "assignee": agent.display_name if agent is not None else "",
        "team": team.name if team is not None else "",
        # in the recipient's language (queue() renders under it), for the defaults
        "assigned_to": (
            agent.display_name
            if agent is not None
            else team.name
            if team is not None
            else gettext("nobody yet")
        ),
        "due": _when(task.due_at),
        "due_or_none": _when(task.due_at) or gettext("no due date"),
        "created": _when(task.created_at),
        "ticket": ticket.number if ticket is not None else "",
    }


def entry_values(entry: ThreadEntry | None, *, for_agent: bool = False) -> dict:
    if entry is None:
        return {}
    return {
        "kind": entry.kind,
        "title": entry.title,
        "poster": entry.poster_name,
        "body_text": entry.body_text,
        "body_html": remote_images_as_links(entry.body_html) if for_agent else entry.body_html,
    }


# An <img> of nh3's output: attributes always double-quoted, `"` escaped inside them.
_IMG = re.compile(r'<img((?:\s+[a-zA-Z_:][-\w:.]*(?:="[^"]*")?)*)\s*/?>')
_ATTR = re.compile(r'([a-zA-Z_:][-\w:.]*)(?:="([^"]*)")?')


def remote_images_as_links(body_html: str) -> str:
    """Client HTML for agents' mail: each image that is not one of the message's own
    parts (`cid:`, `data:`) becomes a link to it: http, https and protocol-relative
    (`//host/x.gif`, which a mail client resolves to https) alike, so opening an alert
    loads nothing from the client's servers (no tracking pixel, no leak of the agent's
    address). Works on the sanitised HTML, and sanitises again."""
    if "<img" not in (body_html or ""):
        return body_html

    def swap(match):
        attrs = {k.lower(): html.unescape(v or "") for k, v in _ATTR.findall(match.group(1))}
        src = attrs.get("src", "")
        if urlsplit(src.strip()).scheme.lower() in ("cid", "data"):
            return match.group(0)
        label = attrs.get("alt") or attrs.get("title") or urlsplit(src).hostname or "image"
        return f'<a href="{escape(src)}">[{escape(gettext("image"))}: {escape(label)}]</a>'

    return sanitize_html(_IMG.sub(swap, body_html))


def thread_headers(ticket: Ticket, recipient: str, entry: ThreadEntry | None) -> dict:
    """In-Reply-To and References: the ticket's first message, our last mail to this
    recipient, and the client message being answered."""
    received = list(
        ThreadEntry.objects.filter(thread_id=ticket.thread_id)
        .exclude(message_id="")
        .order_by("id")
        .values_list("kind", "message_id")
    )
    first = received[0][1] if received else None
    messages = [mid for kind, mid in received if kind == ThreadEntry.Kind.MESSAGE]
    if entry is not None and entry.kind == ThreadEntry.Kind.MESSAGE and entry.message_id:
        answering = entry.message_id
    else:  # a response, a note or an event: it answers the latest client message
        answering = messages[-1] if messages else None
    last_out = (
        OutboundMessage.objects.filter(ticket=ticket, recipient=recipient)
        .order_by("-id")
        .values_list("message_id", flat=True)
        .first()
    )
    refs = [m for m in dict.fromkeys([first, last_out, answering]) if m]
    if not refs:
        return {}
    return {"In-Reply-To": answering or refs[-1], "References": " ".join(refs)}


def task_thread_headers(task: Task, recipient: str) -> dict:
    """In-Reply-To and References of mail about a task: our first and last mail about it
    to this recipient (all of them task Message-IDs, so an answer threads to the task)."""
    sent = OutboundMessage.objects.filter(task=task, recipient=recipient)
    first = sent.order_by("id").values_list("message_id", flat=True).first()
    last = sent.order_by("-id").values_list("message_id", flat=True).first()
    refs = [m for m in dict.fromkeys([first, last]) if m]
    if not refs:
        return {}
    return {"In-Reply-To": refs[-1], "References": " ".join(refs)}


def _separated(text: str, html: str, separator: str) -> tuple[str, str]:
    if not separator:
        return text, html
    text = f"{separator}\n\n{text}"
    if html:
        html = f'<div style="color:#999">{escape(separator)}</div>{html}'
    return text, html


def _dedupe_key(*parts) -> str:
    key = ":".join(str(p) for p in parts)
    if len(key) <= 128:
        return key
    return key[:60] + ":" + hashlib.sha256(key.encode()).hexdigest()


def _may_mail(template: str, recipient, email: str, is_agent: bool, entry, task=None) -> bool:
    """Never to an inactive or empty address, never a note or anything about a task to a
    client, never a non-public entry in a client template, never to an address that
    bounced for good."""
    if not email or not recipient.is_active:
        return False
    if (task is not None or template in TASK_TEMPLATES) and not is_agent:
        log.error("refused to mail %s (a task's) to client %s", template, email)
        return False
    if entry is not None and entry.kind == ThreadEntry.Kind.NOTE and not is_agent:
        log.error("refused to mail internal note %s to client %s", entry.pk, email)
        return False
    if template in CLIENT_TEMPLATES and entry is not None and not entry.is_public:
        return False
    if undeliverable([email]):
        log.info("not mailing %s to %s: the address is marked undeliverable", template, email)
        return False
    return True


def queue(
    *,
    template: str,
    recipient,
    ticket: Ticket | None,
    event_key: str,
    entry: ThreadEntry | None = None,
    context: dict | None = None,
    department=None,
    task: Task | None = None,
) -> OutboundMessage | None:
    """Render and store one mail; send it after commit. None when it must not be sent.
    `task`: mail about a task (no `ticket`), to an agent only, with a task Message-ID."""
    email = (recipient.email or "").strip().lower()
    is_agent = bool(getattr(recipient, "is_agent", False))
    if not _may_mail(template, recipient, email, is_agent, entry, task):
        return None
    about = task if task is not None else ticket
    if department is None and about is not None:
        department = about.department
    language = recipient_language(recipient, is_agent=is_agent, ticket=ticket)
    with translation.override(language):  # subject, body, names and dates alike
        subject, text, html = _render_for(
            template, recipient, email, is_agent, ticket, task, entry, context, department
        )
    return _store(
        template=template,
        email=email,
        is_agent=is_agent,
        ticket=ticket,
        task=task,
        entry=entry,
        event_key=event_key,
        department=department,
        rendered=(subject, text, html),
        language=language,
    )


def _render_for(template, recipient, email, is_agent, ticket, task, entry, context, department):
    """(subject, text, html) of one mail, in the active language."""
    ctx = {
        "recipient": {"name": recipient.display_name, "email": email},
        "department": {"name": getattr(department, "name", "")},
        "signature": getattr(department, "signature", "") or "",
        **(context or {}),
    }
    if task is not None:
        ctx.setdefault("task", task_values(task))
        ctx.setdefault("url", task_url(task))
    elif ticket is not None:
        ctx.setdefault("ticket", ticket_values(ticket, for_agent=is_agent))
        ctx.setdefault("url", ticket_url(ticket, for_agent=is_agent, recipient=recipient))
    ctx.setdefault("entry", entry_values(entry, for_agent=is_agent))
    subject, text, html = templates.render(
        template, ctx, department=department, language=translation.get_language()
    )
    if template in CLIENT_TEMPLATES or task is not None:
        text, html = _separated(text, html, mail_settings().reply_separator)
    return subject, text, html


def _store(
    *, template, email, is_agent, ticket, task, entry, event_key, department, rendered, language
) -> OutboundMessage | None:
    """Store the rendered mail with its Message-ID and thread headers; sent after commit."""
    subject, text, html = rendered
    entry_id = entry.pk if entry else None
    if task is not None:
        headers = task_thread_headers(task, email)
        message_id = make_task_message_id(task.pk, entry_id)
    else:
        headers = thread_headers(ticket, email, entry) if ticket is not None else {}
        message_id = make_message_id(ticket.pk if ticket else None, entry_id)
    headers["Message-ID"] = message_id
    if language:
        headers["Content-Language"] = language  # RFC 3282: the language it is written in
    if template in AUTO_TEMPLATES:
        headers["Auto-Submitted"] = "auto-replied"
    elif template not in CLIENT_TEMPLATES:
        headers["Auto-Submitted"] = "auto-generated"
    if template not in ("ticket.reply",):
        headers["X-Auto-Response-Suppress"] = "All"
    from .tasks import send_outbound_task

    try:
        with transaction.atomic():
            row = OutboundMessage.objects.create(
                message_id=message_id,
                template=template,
                dedupe_key=_dedupe_key(event_key, template, email),
                ticket=ticket if task is None else None,
                task=task,
                entry=entry,
                recipient=email,
                recipient_is_agent=is_agent,
                from_email=from_address(department),
                subject=subject,
                body_text=text,
                body_html=html,
                headers=headers,
                is_auto=template in AUTO_TEMPLATES,
            )
            enqueue(send_outbound_task, row.pk)  # sent after commit, never in a request
    except IntegrityError:
        return None  # this event was already mailed to this recipient
    return row


ADMIN_ALERT = "template.alert"  # our own words to the helpdesk admins, not a template


def queue_admin_alert(*, key: str, subject: str, body: str, every: int) -> int:
    """Mail the helpdesk admins (`subject`, plain `body`) through the outbox, like any
    mail: one OutboundMessage per admin and its outbox row, in the current transaction,
    sent after commit by a worker or the periodic job, retried when sending fails.
    Nothing is queued when an alert with this `key` went to them in the last `every`
    seconds: the gate is the alerts' own rows, so it is taken only when an alert is
    queued and commits. Returns how many were queued."""
    from accounts.models import User

    from .tasks import send_outbound_task

    admins = User.objects.filter(is_agent=True, is_active=True, is_helpdesk_admin=True)
    emails = sorted({e.strip().lower() for e in admins.values_list("email", flat=True) if e})
    bounced = undeliverable(emails)
    emails = [e for e in emails if e not in bounced]
    now = timezone.now()
    recent = OutboundMessage.objects.filter(
        recipient__in=emails,
        template=ADMIN_ALERT,
        created_at__gte=now - timedelta(seconds=every),
        dedupe_key__startswith=f"{key}:",
    )
    if not emails or recent.exists():
        return 0
    period = int(now.timestamp()) // every  # two processes at once: one wins
    rows = [_admin_alert(e, subject, body, _dedupe_key(key, period, e)) for e in emails]
    try:
        with transaction.atomic():
            rows = OutboundMessage.objects.bulk_create(rows)
            enqueue_many(send_outbound_task, [((row.pk,), {}) for row in rows])
    except IntegrityError:
        return 0  # queued by another process in this period
    return len(rows)


def _admin_alert(email: str, subject: str, body: str, dedupe_key: str) -> OutboundMessage:
    message_id = make_message_id(None)
    return OutboundMessage(
        message_id=message_id,
        template=ADMIN_ALERT,
        dedupe_key=dedupe_key,
        recipient=email,
        recipient_is_agent=True,
        from_email=from_address(None),
        subject=subject[:255],
        body_text=body,
        headers={
            "Message-ID": message_id,
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        },
        is_auto=True,
    )


AGENT_NOTICE = "agent.notice"  # our own words to one agent (an export is ready), not a template


def queue_agent_notice(*, recipient, key: str, subject: str, body: str) -> OutboundMessage | None:
    """Mail one agent `subject` and plain `body` through the outbox, like any mail (sent
    after commit, retried). Once per `key` and agent; None when not sent (not an active
    agent, no address, or the address is marked undeliverable)."""
    from .tasks import send_outbound_task

    email = (recipient.email or "").strip().lower()
    if not (getattr(recipient, "is_agent", False) and recipient.is_active and email):
        return None
    if undeliverable([email]):
        return None
    row = _admin_alert(email, subject, body, _dedupe_key(key, email))
    row.template = AGENT_NOTICE
    try:
        with transaction.atomic():
            row.save()
            enqueue(send_outbound_task, row.pk)
    except IntegrityError:
        return None  # mailed already
    return row


def outbound_resend(*, actor, ids: list[int]) -> int:
    """Queue failed mail again (the admin's action): sent after commit by the outbox."""
    from .tasks import send_outbound_task

    if not getattr(actor, "is_staff", False):  # superusers and helpdesk admins
        raise PermissionRefused("Only admins send mail again.", code="permission_denied")
    with transaction.atomic():
        failed = list(
            OutboundMessage.objects.select_for_update()
            .filter(pk__in=ids, status=OutboundMessage.Status.FAILED)
            .values_list("pk", flat=True)
        )
        OutboundMessage.objects.filter(pk__in=failed).update(
            status=OutboundMessage.Status.QUEUED, attempts=0
        )
        enqueue_many(send_outbound_task, [((pk,), {}) for pk in failed])
    return len(failed)


def deliver(row: OutboundMessage) -> None:
    """Send one stored mail through Django's email backend (EMAIL_URL). Slow I/O: never
    call it inside a transaction."""
    mail = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=row.from_email,
        to=[row.recipient],
        headers=row.headers,
    )
    if row.body_html:
        mail.attach_alternative(row.body_html, "text/html")
    if row.entry_id is not None and row.template in ("ticket.reply", "ticket.notice"):
        for att in row.entry.attachments.select_related("file"):
            with att.file.file.open("rb") as fh:
                mail.attach(att.filename, fh.read(), att.content_type)
    mail.send(fail_silently=False)


def record_failure(row: OutboundMessage, error: str) -> None:
    """A mail that could not be sent: failed, and a system note agents see on the ticket."""
    from tickets import services as tickets

    OutboundMessage.objects.filter(pk=row.pk).update(
        status=OutboundMessage.Status.FAILED, error=error[:2000]
    )
    log.error("mail %s to %s failed: %s", row.message_id, row.recipient, error)
    if row.ticket_id is None:
        return
    try:
        tickets.ticket_post_note(
            actor=SYSTEM,
            ticket=row.ticket,
            title="Mail not sent",
            body=(
                f'The mail "{row.subject}" ({row.template}) to {row.recipient} could not be '
                f"sent after {row.attempts} attempts: {error}"
            ),
            is_system_note=True,
        )
    except DomainError as exc:
        log.error("could not record the failed mail on ticket %s: %s", row.ticket_id, exc)


def overlimit_notice(*, requester, subject: str) -> None:
    """osTicket's over-limit notice: the client has too many open tickets."""
    if not mail_settings().overlimit_notice:
        return
    from .notifications import autoresponse_allowed

    if not autoresponse_allowed(requester.email):
        return
    queue(
        template="ticket.overlimit",
        recipient=requester,
        ticket=None,
        event_key=f"overlimit:{hashlib.sha256(subject.encode()).hexdigest()[:16]}"
        f":{timezone.now():%Y%m%d%H}",
        context={"ticket": {"subject": subject}, "url": site_url("/tickets/")},
    )
