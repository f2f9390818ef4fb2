"""Opening a ticket: the same path for every channel (portal, panel, API, email).

Every channel describes the ticket as a `NewTicket` and calls
`ticket_open(actor=..., new=...)`; the actor decides what may be chosen and where the
ticket may go (a client: public topics only; an agent: ticket.create in the routed
department; an API key: its write scope; the system: anything).
"""

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts import permissions as perms
from accounts.actors import (
    SYSTEM,
    Actor,
    actor_user,
    is_agent,
    is_api_key,
    is_client,
    is_system,
)
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.languages import shipped_code
from accounts.models import Organization, User
from accounts.services import user_get_or_create_by_email
from routing import assignment, filters
from routing import services as routing
from routing.models import SLA, Department, HelpTopic, Team
from routing.sla import sla_due_at
from threads import services as threads
from threads.models import Channel, StoredFile, ThreadEntry, ThreadEvent
from threads.services import NewAttachment

from .. import customfields, signals
from ..config import Snapshot, in_force
from ..models import (
    CustomField,
    HelpdeskSettings,
    Priority,
    State,
    Ticket,
    TicketFieldValue,
    TicketStatus,
)
from ..numbers import next_number
from ..permissions import check_open
from ._common import channel_of, clean_subject, defaults, insert_numbered, record, ref


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewTicket:
    """What a channel asks for when it opens a ticket (`ticket_open(new=...)`).

    Only `requester`, `subject` and `body` are needed; the rest is chosen by the caller
    where the actor may choose it, else by filters and routing. `custom_fields`
    ({name: value}) are checked against the routed topic's fields (see
    tickets.customfields): give them from a form or the API, where required fields are
    enforced; None (email) skips them. `meta` holds what ticket filters may look at
    beyond the ticket's own fields: `reply_to`, `reply_to_name`, `headers` (a dict).
    `files` and `collaborators` are kept as tuples.
    """

    requester: User
    subject: str
    body: str
    fmt: str = ThreadEntry.Format.TEXT
    source: str = Ticket.Source.WEB
    topic: HelpTopic | None = None
    department: Department | None = None
    priority: Priority | None = None
    sla: SLA | None = None
    status: TicketStatus | None = None
    assignee: User | None = None
    team: Team | None = None
    due_at: dt.datetime | None = None
    files: Sequence[NewAttachment] = ()
    collaborators: Sequence[User] = ()
    channel: str | None = None
    message_id: str = ""
    email_headers: str = ""
    ip_address: str | None = None
    language: str = ""  # the channel's hint: Content-Language, the portal's language
    autorespond: bool = True
    alert: bool = True
    meta: Mapping[str, Any] | None = None
    custom_fields: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(self.files))
        object.__setattr__(self, "collaborators", tuple(self.collaborators))

    @property
    def explicit_assignment(self) -> bool:
        return self.assignee is not None or self.team is not None


def _authorize(actor: Actor, requester: User, route: routing.Route, new: NewTicket) -> None:
    """May this actor open this ticket where routing sends it? Called after filters and
    routing, before anything is written."""
    if is_system(actor):
        return
    if is_api_key(actor):  # its write scope, as an agent's departments (no role inside)
        check_open(actor, route.department)
        return
    if is_agent(actor):
        dept = route.department
        if not perms.has_role_perm(actor, "ticket.create", dept.pk):
            raise PermissionRefused(
                f"Your role in {dept.name} does not allow ticket.create.", code="permission_denied"
            )
        if new.explicit_assignment and not perms.has_role_perm(actor, "ticket.assign", dept.pk):
            raise PermissionRefused(
                f"Your role in {dept.name} does not allow ticket.assign.", code="permission_denied"
            )
        return
    if not (is_client(actor) and requester.pk == actor.pk):
        raise PermissionRefused(
            "Clients open tickets for themselves only.", code="permission_denied"
        )
    if new.explicit_assignment or new.due_at is not None:
        raise PermissionRefused(
            "Clients cannot assign tickets or set due dates.", code="permission_denied"
        )


def _check_client_choices(actor: Actor, new: NewTicket) -> None:
    """What a client may choose when opening a ticket (portal or API): a public help topic
    or a public department, and the message. Priority, SLA, status, collaborators and
    the staff alert are the helpdesk's to decide."""
    if not is_client(actor):
        return
    department, topic = new.department, new.topic
    if department is not None and not (department.is_public and department.is_active):
        raise ValidationFailed(
            "Choose a public department or a help topic.",
            code="invalid_department",
            fields={"department": ["Not a department clients can choose."]},
        )
    internal = {
        "priority": new.priority,
        "sla": new.sla,
        "status": new.status,
        "collaborators": list(new.collaborators) or None,
        "alert": None if new.alert else "off",
        "autorespond": None if new.autorespond else "off",
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
    if new.source not in (Ticket.Source.WEB, Ticket.Source.API):
        raise ValidationFailed(
            "Clients open tickets from the web or the API.",
            code="invalid_source",
            fields={"source": ["Not a source a client can use."]},
        )


def _check_open_limit(actor: Actor, requester: User, config: HelpdeskSettings) -> None:
    if config.max_open_tickets and not is_agent(actor):
        open_count = Ticket.objects.filter(requester=requester, state=State.OPEN).count()
        if open_count >= config.max_open_tickets:
            raise Conflict(
                f"{requester.email} already has {open_count} open tickets, the most allowed.",
                code="too_many_open_tickets",
            )


def _load(agent_ids: list[int]) -> dict[int, int]:
    """Open tickets per agent, for the least-busy assignment policy."""
    rows = (
        Ticket.objects.filter(assignee_id__in=agent_ids, state=State.OPEN)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def _sample(data: dict[str, Any], meta: Mapping[str, Any]) -> filters.Sample:
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


def _collaborators(data: dict[str, Any], requester: User) -> list[User]:
    people: list[User] = list(data["collaborators"])
    for email in data.get("collaborator_emails", ()):
        user, _ = user_get_or_create_by_email(actor=SYSTEM, email=email)
        people.append(user)
    people += _organization_collaborators(data["organization"])
    return [u for u in dict.fromkeys(people) if u.pk != requester.pk and u.is_active]


def _organization_collaborators(org: Organization | None) -> list[User]:
    """osTicket's organization switches: all members, or its primary contacts, join
    every new ticket of a member as collaborators."""
    if org is None or not (org.collab_all_members or org.collab_primary_contacts):
        return []
    members = User.objects.filter(organization=org, is_active=True, is_agent=False)
    if not org.collab_all_members:
        members = members.filter(is_primary_contact=True)
    return list(members.order_by("pk"))


def _account_manager(data: dict[str, Any], route: routing.Route) -> tuple[Any, Any]:
    """(agent, team) of a ticket routed to nobody whose organization auto-assigns to its
    account manager (osTicket: after filters and the help topic, before the policies)."""
    org = data["organization"]
    if route.agent is not None or route.team is not None or org is None:
        return route.agent, route.team
    if not org.auto_assign_manager:
        return None, None
    agent = org.manager_agent
    if agent is not None and not (agent.is_active and agent.is_agent):
        agent = None
    return agent, org.manager_team


def _mutable_data(new: NewTicket, topic: HelpTopic | None) -> dict[str, Any]:
    """What `ticket_pre_open` receivers and filter actions may change."""
    return {
        "subject": new.subject,
        "body": new.body,
        "requester": new.requester,
        "organization": new.requester.organization,
        "topic": topic,
        "department": new.department,
        "priority": new.priority,
        "sla": new.sla,
        "status": new.status,
        "assignee": new.assignee,
        "team": new.team,
        "source": new.source,
        "autorespond": new.autorespond,
        "alert": new.alert,
        "collaborators": list(new.collaborators),
        "canned_response": None,
    }


def ticket_open(*, actor: Actor, new: NewTicket) -> Ticket:
    """Open a ticket for `new.requester` with its first message: filtered, routed,
    checked against the actor, numbered. Refusals come before anything is written.
    """
    channel = channel_of(actor, new.channel)
    _check_client_choices(actor, new)
    config = HelpdeskSettings.load()
    snapshot = Snapshot(config)
    data = _mutable_data(new, snapshot.hydrate_topic(new.topic))
    signals.ticket_pre_open.send(sender=Ticket, data=data, actor=actor, channel=channel)
    requester: User = data["requester"]
    _check_requester(actor, requester, snapshot)
    given = new.meta or {}
    meta = {**given, "fields": {**given.get("fields", {}), **(new.custom_fields or {})}}
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
    _authorize(actor, requester, route, new)
    priority, status = _validate(route, new.due_at)
    values = _custom_values(actor, route, new.custom_fields, channel)
    _check_open_limit(actor, requester, config)
    people = _collaborators(data, requester)
    stored = threads.files_store(list(new.files))  # slow I/O, before the transaction

    with transaction.atomic(), in_force(snapshot):
        ticket, entry = _create(
            data,
            route,
            new,
            priority=priority,
            status=status,
            actor=actor,
            subject=clean_subject(data["subject"]),
            stored=stored,
            people=people,
            config=config,
        )
        if values:  # most tickets have no custom fields: no bulk_create of nothing
            TicketFieldValue.objects.bulk_create(
                TicketFieldValue(ticket=ticket, field=field, value=value)
                for field, value in values.items()
            )
        _record_open(
            ticket, matched, actor=actor, channel=channel, explicit=new.explicit_assignment
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


def ticket_language(requester: User, hint: str) -> str:
    """The language a new ticket records: the client's profile language, else the
    channel's hint (a mail's Content-Language, the portal's or API request's language),
    each as a LANGUAGES code; "" when neither names one we have."""
    try:
        # the portal keeps a client's choice (reverse relation: no import of the portal)
        chosen: str = requester.portal_preferences.language
    except (ObjectDoesNotExist, AttributeError):  # no preferences (or no portal)
        chosen = ""
    return shipped_code(chosen) or shipped_code(hint)


def _check_requester(actor: Actor, requester: User, snapshot: Snapshot) -> None:
    if not requester.is_active:
        raise PermissionRefused(
            f"{requester.email} may not open tickets.", code="requester_inactive"
        )
    if not is_agent(actor) and snapshot.banned(requester.email):
        raise PermissionRefused(f"Ticket denied: {requester.email} is banned.", code="rejected")


def _custom_values(
    actor: Actor, route: routing.Route, submitted: Mapping[str, Any] | None, channel: str
) -> dict[CustomField, str]:
    """Agents, API keys (and the system outside the portal) fill every field; clients,
    and guests through the portal, only the client-visible ones."""
    if submitted is None:
        return {}
    staff_side = (
        is_agent(actor) or is_api_key(actor) or (is_system(actor) and channel != Channel.PORTAL)
    )
    fields = customfields.fields_for_topic(route.topic, for_client=not staff_side)
    return customfields.clean_values(fields, dict(submitted))


def _validate(route: routing.Route, due_at: dt.datetime | None) -> tuple[Priority, TicketStatus]:
    """The routed priority and status, once the route and the due date are checked."""
    priority, status = route.priority, route.status
    if not (isinstance(priority, Priority) and isinstance(status, TicketStatus)):
        raise ValidationFailed("No default priority or status is configured.", code="no_defaults")
    if status.state not in (State.OPEN, State.CLOSED):
        raise ValidationFailed("A new ticket must be open or closed.", code="invalid_status")
    if due_at is not None and due_at <= timezone.now():
        raise ValidationFailed(
            "The due date must be in the future.", fields={"due_at": ["Must be in the future."]}
        )
    return priority, status


def _create(
    data: dict[str, Any],
    route: routing.Route,
    new: NewTicket,
    *,
    actor: Actor,
    priority: Priority,
    status: TicketStatus,
    subject: str,
    stored: list[tuple[NewAttachment, StoredFile]],
    people: list[User],
    config: HelpdeskSettings,
) -> tuple[Ticket, ThreadEntry]:
    now = timezone.now()
    agent, team = _account_manager(data, route)
    if agent is None and status.state == State.OPEN:
        agent = assignment.auto_assign(department=route.department, team=team, load=_load)
    thread = threads.thread_create()
    requester = data["requester"]
    ticket = Ticket(
        subject=subject,
        requester=requester,
        organization=data["organization"],
        department=route.department,
        topic=route.topic,
        sla=route.sla,
        priority=priority,
        status=status,
        state=status.state,
        assignee=agent,
        team=team,
        source=data["source"],
        thread=thread,
        sla_due_at=sla_due_at(now, route.sla),
        sla_paused_at=now if status.pauses_sla else None,
        due_at=new.due_at,
        last_message_at=now,
        closed_at=now if status.state == State.CLOSED else None,
        ip_address=new.ip_address,
        language=ticket_language(requester, new.language),
        created_at=now,
        updated_at=now,
    )
    insert_numbered(ticket, lambda: next_number(config))
    entry = threads.entry_create(
        thread_id=thread.pk,
        kind=ThreadEntry.Kind.MESSAGE,
        body=data["body"],
        fmt=new.fmt,
        poster=actor_user(actor) or requester,
        source=data["source"],
        files=stored,
        message_id=new.message_id,
        email_headers=new.email_headers,
        ip_address=new.ip_address,
    )
    for user in people:
        threads.collaborator_add(thread_id=thread.pk, user=user)
    return ticket, entry


def _record_open(
    ticket: Ticket, matched: list[dict[str, Any]], *, actor: Actor, channel: str, explicit: bool
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
