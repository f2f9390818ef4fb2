"""Who hears about what (osTicket's autoresponses, notices and alerts).

Called from Celery (`notify_task`) with ids, after the change committed. Each function
picks recipients from the department's mail settings and queues one mail per person
(`outbound.queue`, deduplicated by event, so a retried task sends nothing twice).
Clients get autoresponses, notices and responses; agents get alerts. Internal notes go
to agents only, and the system's own notes (bounces, failed mail) alert no one.
"""

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from helpdesk.alerts.services import alerts_record
from threads.models import ThreadEntry
from tickets.models import Task, Ticket

from . import outbound
from .models import DepartmentMailSettings, InboundMessage, OutboundMessage
from .scope import mail_settings, unit_of_work


def dept_settings(department) -> DepartmentMailSettings:
    found = DepartmentMailSettings.objects.filter(department=department).first()
    return found or DepartmentMailSettings(department=department)


def _agents():
    return User.objects.filter(is_agent=True, is_active=True)


def admins() -> list[User]:
    return list(_agents().filter(is_helpdesk_admin=True))


def members(department) -> list[User]:
    """Agents of the department (primary, or extra access with alerts), not on vacation."""
    q = Q(department=department) | Q(
        department_accesses__department=department, department_accesses__alerts=True
    )
    return list(_agents().filter(q, on_vacation=False).distinct())


def manager(department) -> list[User]:
    m = department.manager
    return [m] if m is not None and m.is_active else []


def account_manager(ticket: Ticket) -> list[User]:
    """The account manager of the ticket's organization (osTicket's "Organization
    Account Manager" recipient): the agent, or the team's lead and members."""
    org = ticket.organization
    if org is None:
        return []
    if org.manager_agent_id:
        agent = org.manager_agent
        return [agent] if agent is not None and agent.is_active else []
    team = org.manager_team
    if team is None or not team.is_active:
        return []
    people = [team.lead] if team.lead_id and team.lead.is_active else []
    return people + list(team.members.filter(is_active=True, on_vacation=False))


def assigned(ticket: Ticket | Task, *, team_members: bool = True, lead: bool = True) -> list[User]:
    """The assignee, and the team's lead and members (when its alerts are on)."""
    people = [ticket.assignee] if ticket.assignee_id and ticket.assignee.is_active else []
    team = ticket.team
    if team is not None and team.is_active and team.alerts_enabled:
        if lead and team.lead_id:
            people.append(team.lead)
        if team_members:
            people += list(team.members.filter(is_active=True, on_vacation=False))
    return people


def last_respondent(ticket: Ticket) -> list[User]:
    entry = (
        ThreadEntry.objects.filter(thread_id=ticket.thread_id, kind=ThreadEntry.Kind.RESPONSE)
        .exclude(poster=None)
        .select_related("poster")
        .order_by("-id")
        .first()
    )
    return [entry.poster] if entry is not None and entry.poster.is_active else []


def _unique(people, *, exclude_ids=()) -> list[User]:
    seen, out = set(exclude_ids), []
    for person in people:
        if person is not None and person.pk not in seen and person.is_agent:
            seen.add(person.pk)
            out.append(person)
    return out


def participants(ticket: Ticket) -> list[User]:
    """The requester and the active collaborators (the client side of a ticket)."""
    collabs = User.objects.filter(
        collaborations__thread_id=ticket.thread_id, collaborations__is_active=True
    )
    people = [ticket.requester, *collabs]
    return [p for p in dict.fromkeys(people) if p.is_active]


def autoresponse_allowed(email: str) -> bool:
    """Not to our own addresses, and at most N autoresponses per address per hour."""
    from .inbound import our_addresses

    email = (email or "").lower()
    if not email or email in our_addresses():
        return False
    limit = mail_settings().autoresponses_per_hour
    since = timezone.now() - dt.timedelta(hours=1)
    sent = OutboundMessage.objects.filter(
        recipient=email, template__in=outbound.AUTO_TEMPLATES, created_at__gte=since
    ).count()
    return sent < limit


def _from_robot(entry: ThreadEntry | None) -> bool:
    return (
        entry is not None
        and InboundMessage.objects.filter(entry_id=entry.pk, is_auto=True).exists()
    )


# The staff panel's profile lets an agent turn each alert off (AgentPreferences, read
# through the user's reverse relation so the mail channel does not import the panel).
PREFERENCE = {
    "ticket.alert": "notify_new_ticket",
    "message.alert": "notify_new_message",
    "assigned.alert": "notify_assigned",
    "transfer.alert": "notify_transferred",
    "ticket.overdue": "notify_overdue",
    "note.alert": "notify_note",
    "task.alert": "notify_task_new",
    "task.activity.alert": "notify_task_activity",
    "task.activity.notice": "notify_task_activity",
    "task.assignment.alert": "notify_task_assigned",
    "task.transfer.alert": "notify_task_transferred",
    "task.overdue.alert": "notify_task_overdue",
}


def _wants(person, template: str) -> bool:
    field = PREFERENCE.get(template)
    if field is None or not person.is_agent:
        return True
    try:
        prefs = person.panel_preferences
    except ObjectDoesNotExist:
        return True
    return getattr(prefs, field, True)


def _actor_name(entry, context) -> str:
    agent = (context or {}).get("agent") or {}
    if agent.get("name"):
        return agent["name"]
    return (
        entry.poster_name or (entry.poster.display_name if entry.poster_id else "") if entry else ""
    )


def _alert(template, people, ticket, key, entry=None, context=None):
    """The agents the department's settings name: each gets the in-panel alert (the
    bell), and the mail when their profile asks for it."""
    people = list(people)
    alerts_record(
        kind=template,
        recipients=people,
        event_key=key,
        ticket=ticket,
        actor_name=_actor_name(entry, context),
    )
    for person in people:
        if not _wants(person, template):
            continue
        outbound.queue(
            template=template,
            recipient=person,
            ticket=ticket,
            event_key=key,
            entry=entry,
            context=context,
        )


def _agent_context(actor_id) -> dict:
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    return {"agent": {"name": actor.display_name if actor else ""}}


def ticket_created(ticket, entry, *, autorespond, alert, actor_id=None, **_):
    config, dept = mail_settings(), dept_settings(ticket.department)
    key = f"created:{ticket.pk}"
    opened_by_agent = actor_id is not None and _agents().filter(pk=actor_id).exists()
    if opened_by_agent:
        if autorespond and config.ticket_notice:
            outbound.queue(
                template="ticket.notice",
                recipient=ticket.requester,
                ticket=ticket,
                event_key=key,
                entry=entry,
                context=_agent_context(actor_id),
            )
    elif (
        autorespond
        and config.ticket_autoresponder
        and dept.autoresp_new_ticket
        and not (ticket.topic_id and ticket.topic.disable_autoresponse)
        and not _from_robot(entry)
        and autoresponse_allowed(ticket.requester.email)
    ):
        outbound.queue(
            template="ticket.autoresp",
            recipient=ticket.requester,
            ticket=ticket,
            event_key=key,
            entry=entry,
        )
    if alert and dept.new_ticket_alert:
        people = []
        people += admins() if dept.new_ticket_admins else []
        people += manager(ticket.department) if dept.new_ticket_manager else []
        people += members(ticket.department) if dept.new_ticket_members else []
        people += account_manager(ticket)
        _alert("ticket.alert", _unique(people, exclude_ids=[actor_id]), ticket, key, entry)


def message_posted(ticket, entry, **_):
    config, dept = mail_settings(), dept_settings(ticket.department)
    key = f"message:{entry.pk}"
    poster = entry.poster
    robot = _from_robot(entry)
    if (
        poster is not None
        and config.message_autoresponder
        and dept.autoresp_new_message
        and not robot
        and autoresponse_allowed(poster.email)
    ):
        outbound.queue(
            template="message.autoresp", recipient=poster, ticket=ticket, event_key=key, entry=entry
        )
    if config.activity_notice and not robot:
        for person in participants(ticket):
            if poster is None or person.pk != poster.pk:
                outbound.queue(
                    template="ticket.activity.notice",
                    recipient=person,
                    ticket=ticket,
                    event_key=key,
                    entry=entry,
                )
    if dept.new_message_alert:
        people = []
        people += last_respondent(ticket) if dept.new_message_last_respondent else []
        people += assigned(ticket) if dept.new_message_assigned else []
        people += manager(ticket.department) if dept.new_message_manager else []
        people += account_manager(ticket)
        _alert("message.alert", _unique(people), ticket, key, entry)


def reply_posted(ticket, entry, nonce=None, **_):
    """The response goes to the addressees the reply service stored on the entry
    ({"to": [...], "cc": [...]}: the requester and the collaborators the agent chose,
    tickets.services.entries.reply_recipients); an entry without them (written before
    the service stored them) goes to the requester and every active collaborator. A
    resend (`nonce`) is a mail of its own, with the entry as it reads now. The signature
    the agent chose (none, theirs, the department's) is in the entry's text
    (tickets.services.entries.signature_text): the template's `signature` is left empty,
    so the department's is never added against that choice."""
    chosen = entry.recipients if isinstance(entry.recipients, dict) else {}
    named = {e.lower() for key in ("to", "cc") for e in chosen.get(key) or ()}
    for person in participants(ticket):
        if ("to" in chosen or "cc" in chosen) and person.email.lower() not in named:
            continue
        outbound.queue(
            template="ticket.reply",
            recipient=person,
            ticket=ticket,
            event_key=f"reply:{entry.pk}" + (f":resent:{nonce}" if nonce else ""),
            entry=entry,
            context={**_agent_context(entry.poster_id), "signature": ""},
        )


def note_posted(ticket, entry, actor_id=None, **_):
    dept = dept_settings(ticket.department)
    if entry.is_system or not dept.note_alert:
        return
    people = []
    people += last_respondent(ticket) if dept.note_last_respondent else []
    people += assigned(ticket) if dept.note_assigned else []
    people += manager(ticket.department) if dept.note_manager else []
    _alert("note.alert", _unique(people, exclude_ids=[actor_id]), ticket, f"note:{entry.pk}", entry)


def ticket_assigned(ticket, *, nonce, actor_id=None, agent_id=None, team_id=None, changed=(), **_):
    """To the agent newly assigned (not one who claimed it) and the team newly assigned."""
    dept = dept_settings(ticket.department)
    if not dept.assigned_alert:
        return
    people = []
    if dept.assigned_agent and "agent" in changed and ticket.assignee_id == agent_id:
        people.append(ticket.assignee)
    team = ticket.team
    if "team" in changed and team is not None and team.pk == team_id and team.alerts_enabled:
        if dept.assigned_team_lead and team.lead_id:
            people.append(team.lead)
        if dept.assigned_team_members:
            people += list(team.members.filter(is_active=True, on_vacation=False))
    context = {
        **_agent_context(actor_id),
        "assignee": ticket.assignee.display_name if ticket.assignee_id else "",
        "team": ticket.team.name if ticket.team_id else "",
    }
    people = _unique(people, exclude_ids=[actor_id])
    _alert("assigned.alert", people, ticket, f"assigned:{ticket.pk}:{nonce}", context=context)


def ticket_transferred(ticket, *, nonce, actor_id=None, previous_department="", **_):
    dept = dept_settings(ticket.department)
    if not dept.transfer_alert:
        return
    people = []
    people += assigned(ticket) if dept.transfer_assigned else []
    people += manager(ticket.department) if dept.transfer_manager else []
    people += members(ticket.department) if dept.transfer_members else []
    context = {**_agent_context(actor_id), "previous_department": previous_department}
    people = _unique(people, exclude_ids=[actor_id])
    _alert("transfer.alert", people, ticket, f"transfer:{ticket.pk}:{nonce}", context=context)


def ticket_overdue(ticket, *, nonce, **_):
    dept = dept_settings(ticket.department)
    if not dept.overdue_alert or (ticket.sla_id and not ticket.sla.alerts_enabled):
        return
    people = []
    people += assigned(ticket) if dept.overdue_assigned else []
    notify_manager = ticket.sla.escalate_notify_manager if ticket.sla_id else True
    people += manager(ticket.department) if dept.overdue_manager and notify_manager else []
    people += members(ticket.department) if dept.overdue_members else []
    _alert("ticket.overdue", _unique(people), ticket, f"overdue:{ticket.pk}:{nonce}")


HANDLERS = {
    "created": ticket_created,
    "message": message_posted,
    "reply": reply_posted,
    "note": note_posted,
    "assigned": ticket_assigned,
    "transferred": ticket_transferred,
    "overdue": ticket_overdue,
}


def notify(event: str, ticket_id: int, entry_id: int | None = None, **extra) -> None:
    ticket = (
        Ticket.objects.select_related(
            "requester",
            "organization__manager_agent",
            "organization__manager_team__lead",
            "department__manager",
            "assignee",
            "team__lead",
            "topic",
            "sla",
            "status",
            "priority",
        )
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        return
    entry = ThreadEntry.objects.select_related("poster").filter(pk=entry_id).first()
    if entry_id is not None and entry is None:
        return
    handler = HANDLERS[event]
    with unit_of_work():
        if entry is not None:
            handler(ticket, entry, **extra)
        else:
            handler(ticket, **extra)
