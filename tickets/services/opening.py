"""Opening a ticket: the same path for every channel (portal, panel, API, email)."""

from collections.abc import Mapping, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts import permissions as perms
from accounts.actors import SYSTEM, actor_user, is_agent, is_client, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.services import user_get_or_create_by_email
from routing import assignment, filters
from routing import services as routing
from routing.sla import sla_due_at
from threads import services as threads
from threads.models import Channel, ThreadEntry, ThreadEvent
from threads.services import NewAttachment

from .. import customfields, signals
from ..config import Snapshot, in_force
from ..models import HelpdeskSettings, State, Ticket, TicketFieldValue
from ..numbers import next_number
from ._common import channel_of, clean_subject, defaults, record, ref

NUMBER_ATTEMPTS = 20


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


def _check_client_choices(
    actor, *, topic, department, priority, sla, status, collaborators, source, autorespond, alert
) -> None:
    """What a client may choose when opening a ticket (portal or API): a public help topic
    or a public department, and the message. Priority, SLA, status, collaborators and
    the staff alert are the helpdesk's to decide."""
    if not is_client(actor):
        return
    if department is not None and not (department.is_public and department.is_active):
        raise ValidationFailed(
            "Choose a public department or a help topic.",
            code="invalid_department",
            fields={"department": ["Not a department clients can choose."]},
        )
    internal = {
        "priority": priority,
        "sla": sla,
        "status": status,
        "collaborators": list(collaborators) or None,
        "alert": None if alert else "off",
        "autorespond": None if autorespond else "off",
    }
    chosen = sorted(name for name, value in internal.items() if value is not None)
    if chosen:
        raise PermissionRefused(
            f"Clients choose a help topic; the helpdesk sets {', '.join(chosen)}.",
            code="permission_denied",
        )
    if topic is not None and not (topic.is_public and topic.is_active):
        raise ValidationFailed(
            "Choose one of the public help topics.",
            code="invalid_topic",
            fields={"topic": ["Choose one of the public help topics."]},
        )
    if source not in (Ticket.Source.WEB, Ticket.Source.API):
        raise ValidationFailed(
            "Clients open tickets from the web or the API.",
            code="invalid_source",
            fields={"source": ["Not a source a client can use."]},
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


def _load(agent_ids: list[int]) -> dict[int, int]:
    """Open tickets per agent, for the least-busy assignment policy."""
    rows = (
        Ticket.objects.filter(assignee_id__in=agent_ids, state=State.OPEN)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def _sample(data: dict, meta: Mapping) -> filters.Sample:
    requester, topic, org = data["requester"], data["topic"], data["organization"]
    return filters.Sample(
        source=data["source"],
        email=requester.email,
        name=requester.name,
        subject=data["subject"],
        body=data["body"],
        reply_to=meta.get("reply_to", ""),
        reply_to_name=meta.get("reply_to_name", ""),
        headers={k.lower(): str(v) for k, v in (meta.get("headers") or {}).items()},
        topic=topic.full_name if topic else "",
        organization=org.name if org else "",
        fields={k: str(v) for k, v in (meta.get("fields") or {}).items()},
    )


def _collaborators(data: dict, requester) -> list:
    people = list(data["collaborators"])
    for email in data.get("collaborator_emails", ()):
        user, _ = user_get_or_create_by_email(actor=SYSTEM, email=email)
        people.append(user)
    return [u for u in dict.fromkeys(people) if u.pk != requester.pk and u.is_active]


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
    meta: Mapping | None = None,
    custom_fields: Mapping | None = None,
) -> Ticket:
    """Open a ticket for `requester` with its first message: filtered, routed, numbered.

    `custom_fields` ({name: value}) are checked against the routed topic's fields (see
    tickets.customfields); give them from a form or the API, where required fields are
    enforced; None (email) skips them. `meta` holds what ticket filters may look at
    beyond the ticket's own fields: `reply_to`, `reply_to_name`, `headers` (a dict).
    """
    channel = channel_of(actor, channel)
    _check_client_choices(
        actor,
        topic=topic,
        department=department,
        priority=priority,
        sla=sla,
        status=status,
        collaborators=collaborators,
        source=source,
        autorespond=autorespond,
        alert=alert,
    )
    config = HelpdeskSettings.load()
    snapshot = Snapshot(config)
    if topic is not None:
        topic = snapshot.hydrate_topic(topic)
    data = {
        "subject": subject,
        "body": body,
        "requester": requester,
        "organization": requester.organization,
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
        "canned_response": None,
    }
    signals.ticket_pre_open.send(sender=Ticket, data=data, actor=actor, channel=channel)
    requester = data["requester"]
    _check_requester(actor, requester, snapshot)
    meta = {**(meta or {}), "fields": {**(meta or {}).get("fields", {}), **(custom_fields or {})}}
    matched = filters.apply(
        data=data,
        sample=_sample(data, meta),
        rejecting=not is_agent(actor),
        filters=snapshot.filters(data["source"]),
    )
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
    _validate(route, due_at)
    values = _custom_values(actor, route, custom_fields, channel)
    _check_open_limit(actor, requester, config)
    people = _collaborators(data, requester)
    stored = threads.files_store(list(files))  # slow I/O, before the transaction

    with transaction.atomic(), in_force(snapshot):
        ticket, entry = _create(
            data,
            route,
            actor=actor,
            channel=channel,
            subject=clean_subject(data["subject"]),
            fmt=fmt,
            due_at=due_at,
            stored=stored,
            people=people,
            message_id=message_id,
            email_headers=email_headers,
            ip_address=ip_address,
            config=config,
        )
        TicketFieldValue.objects.bulk_create(
            TicketFieldValue(ticket=ticket, field=field, value=value)
            for field, value in values.items()
        )
        _record_open(
            ticket, data, matched, actor=actor, channel=channel, explicit=bool(assignee or team)
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
            canned_response=data["canned_response"],
        )
    return ticket


def _check_requester(actor, requester, snapshot: Snapshot) -> None:
    if not requester.is_active:
        raise PermissionRefused(
            f"{requester.email} may not open tickets.", code="requester_inactive"
        )
    if not is_agent(actor) and snapshot.banned(requester.email):
        raise PermissionRefused(f"Ticket denied: {requester.email} is banned.", code="rejected")


def _custom_values(actor, route: routing.Route, submitted: Mapping | None, channel: str) -> dict:
    """Agents (and the system outside the portal, e.g. an API key) fill every field;
    clients, and guests through the portal, only the client-visible ones."""
    if submitted is None:
        return {}
    staff_side = is_agent(actor) or (is_system(actor) and channel != Channel.PORTAL)
    fields = customfields.fields_for_topic(route.topic, for_client=not staff_side)
    return customfields.clean_values(fields, dict(submitted))


def _validate(route: routing.Route, due_at) -> None:
    if route.priority is None or route.status is None:
        raise ValidationFailed("No default priority or status is configured.", code="no_defaults")
    if route.status.state not in (State.OPEN, State.CLOSED):
        raise ValidationFailed("A new ticket must be open or closed.", code="invalid_status")
    if due_at is not None and due_at <= timezone.now():
        raise ValidationFailed(
            "The due date must be in the future.", fields={"due_at": ["Must be in the future."]}
        )


def _create(
    data,
    route,
    *,
    actor,
    channel,
    subject,
    fmt,
    due_at,
    stored,
    people,
    message_id,
    email_headers,
    ip_address,
    config,
):
    now = timezone.now()
    agent = route.agent
    if agent is None and route.status.state == State.OPEN:
        agent = assignment.auto_assign(department=route.department, team=route.team, load=_load)
    thread = threads.thread_create()
    requester = data["requester"]
    ticket = Ticket(
        subject=subject,
        requester=requester,
        organization=data["organization"],
        department=route.department,
        topic=route.topic,
        sla=route.sla,
        priority=route.priority,
        status=route.status,
        state=route.status.state,
        assignee=agent,
        team=route.team,
        source=data["source"],
        thread=thread,
        sla_due_at=sla_due_at(now, route.sla),
        sla_paused_at=now if route.status.pauses_sla else None,
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
    for user in people:
        threads.collaborator_add(thread_id=thread.pk, user=user)
    return ticket, entry


def _record_open(
    ticket: Ticket, data: dict, matched: list, *, actor, channel: str, explicit: bool
) -> None:
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
    if matched:
        record(ticket, ThreadEvent.Kind.FILTER_MATCHED, SYSTEM, channel, filters=matched)
    if ticket.assignee_id or ticket.team_id:
        record(
            ticket,
            ThreadEvent.Kind.ASSIGNED,
            actor,
            channel,
            agent=ref(ticket.assignee),
            team=ref(ticket.team),
            auto=not explicit,
        )
