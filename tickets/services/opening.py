"""Opening a ticket: the same path for every channel (portal, panel, API, email)."""

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import permissions as perms
from accounts.actors import actor_user, is_agent, is_client, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from routing import services as routing
from routing.selectors import email_is_banned
from routing.sla import sla_due_at
from threads import services as threads
from threads.models import ThreadEntry, ThreadEvent
from threads.services import NewAttachment

from .. import signals
from ..models import HelpdeskSettings, State, Ticket
from ..numbers import next_number
from ._common import channel_of, defaults, record, ref

NUMBER_ATTEMPTS = 20


def _clean_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationFailed(
            "A ticket needs a subject.",
            code="subject_required",
            fields={"subject": ["This field is required."]},
        )
    return subject[:255]


def _authorize(actor, requester, route: routing.Route, explicit_assignment: bool, due_at) -> None:
    if is_system(actor):
        return
    if is_agent(actor):
        dept = route.department
        if not perms.has_role_perm(actor, "ticket.create", dept.pk):
            raise PermissionRefused(
                f"Your role in {dept.name} does not allow ticket.create.", code="permission_denied"
            )
        if explicit_assignment and not perms.has_role_perm(actor, "ticket.assign", dept.pk):
            raise PermissionRefused(
                f"Your role in {dept.name} does not allow ticket.assign.", code="permission_denied"
            )
        return
    if not (is_client(actor) and requester.pk == actor.pk):
        raise PermissionRefused(
            "Clients open tickets for themselves only.", code="permission_denied"
        )
    if explicit_assignment or due_at is not None:
        raise PermissionRefused(
            "Clients cannot assign tickets or set due dates.", code="permission_denied"
        )


def _check_open_limit(actor, requester, config: HelpdeskSettings) -> None:
    if config.max_open_tickets and not is_agent(actor):
        open_count = Ticket.objects.filter(requester=requester, state=State.OPEN).count()
        if open_count >= config.max_open_tickets:
            raise Conflict(
                f"{requester.email} already has {open_count} open tickets, the most allowed.",
                code="too_many_open_tickets",
            )


def _insert_numbered(ticket: Ticket, config: HelpdeskSettings) -> None:
    """Insert with a fresh number; a random draw that collides is drawn again."""
    for _ in range(NUMBER_ATTEMPTS):
        ticket.number = next_number(config)
        try:
            with transaction.atomic():
                ticket.save(force_insert=True)
            return
        except IntegrityError:
            if not Ticket.objects.filter(number=ticket.number).exists():
                raise
    raise Conflict(
        "No free ticket number could be drawn: widen the number format.", code="numbers_exhausted"
    )


def ticket_open(
    *,
    actor,
    requester,
    subject: str,
    body: str,
    fmt: str = ThreadEntry.Format.TEXT,
    source: str = Ticket.Source.WEB,
    topic=None,
    department=None,
    priority=None,
    sla=None,
    status=None,
    assignee=None,
    team=None,
    due_at=None,
    files: Sequence[NewAttachment] = (),
    collaborators: Sequence = (),
    channel: str | None = None,
    message_id: str = "",
    email_headers: str = "",
    ip_address: str | None = None,
    autorespond: bool = True,
    alert: bool = True,
) -> Ticket:
    """Open a ticket for `requester` with its first message, routed and numbered."""
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    data = {
        "subject": subject,
        "body": body,
        "requester": requester,
        "topic": topic,
        "department": department,
        "priority": priority,
        "sla": sla,
        "status": status,
        "assignee": assignee,
        "team": team,
        "source": source,
        "autorespond": autorespond,
        "alert": alert,
        "collaborators": list(collaborators),
    }
    signals.ticket_pre_open.send(sender=Ticket, data=data, actor=actor, channel=channel)
    subject = _clean_subject(data["subject"])
    requester = data["requester"]
    if not requester.is_active:
        raise PermissionRefused(
            f"{requester.email} may not open tickets.", code="requester_inactive"
        )
    if not is_agent(actor) and email_is_banned(requester.email):
        raise PermissionRefused(f"Ticket denied: {requester.email} is banned.", code="rejected")
    route = routing.route(
        defaults=defaults(config),
        topic=data["topic"],
        department=data["department"],
        priority=data["priority"],
        sla=data["sla"],
        status=data["status"],
        agent=data["assignee"],
        team=data["team"],
    )
    _authorize(actor, requester, route, bool(assignee or team), due_at)
    if route.priority is None or route.status is None:
        raise ValidationFailed("No default priority or status is configured.", code="no_defaults")
    if route.status.state not in (State.OPEN, State.CLOSED):
        raise ValidationFailed("A new ticket must be open or closed.", code="invalid_status")
    if due_at is not None and due_at <= timezone.now():
        raise ValidationFailed(
            "The due date must be in the future.", fields={"due_at": ["Must be in the future."]}
        )
    _check_open_limit(actor, requester, config)
    stored = threads.files_store(list(files))  # slow I/O, before the transaction

    with transaction.atomic():
        now = timezone.now()
        thread = threads.thread_create()
        ticket = Ticket(
            subject=subject,
            requester=requester,
            organization_id=requester.organization_id,
            department=route.department,
            topic=route.topic,
            sla=route.sla,
            priority=route.priority,
            status=route.status,
            state=route.status.state,
            assignee=route.agent,
            team=route.team,
            source=data["source"],
            thread=thread,
            sla_due_at=sla_due_at(now, route.sla),
            due_at=due_at,
            last_message_at=now,
            closed_at=now if route.status.state == State.CLOSED else None,
            ip_address=ip_address,
            created_at=now,
            updated_at=now,
        )
        _insert_numbered(ticket, config)
        entry = threads.entry_create(
            thread_id=thread.pk,
            kind=ThreadEntry.Kind.MESSAGE,
            body=data["body"],
            fmt=fmt,
            poster=actor_user(actor) or requester,
            source=data["source"],
            files=stored,
            message_id=message_id,
            email_headers=email_headers,
            ip_address=ip_address,
        )
        for user in data["collaborators"]:
            if user.pk != requester.pk:
                threads.collaborator_add(thread_id=thread.pk, user=user)
        record(
            ticket,
            ThreadEvent.Kind.CREATED,
            actor,
            channel,
            number=ticket.number,
            source=ticket.source,
            department=ref(ticket.department),
            topic=ref(ticket.topic),
            sla=ref(ticket.sla),
            priority=ref(ticket.priority),
            status=ref(ticket.status),
        )
        if ticket.assignee_id or ticket.team_id:
            record(
                ticket,
                ThreadEvent.Kind.ASSIGNED,
                actor,
                channel,
                agent=ref(ticket.assignee),
                team=ref(ticket.team),
                auto=not (assignee or team),
            )
    send_on_commit(
        signals.ticket_created,
        sender=Ticket,
        ticket=ticket,
        entry=entry,
        actor=actor,
        channel=channel,
        autorespond=data["autorespond"],
        alert=data["alert"],
    )
    return ticket
