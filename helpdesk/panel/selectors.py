"""Reads the panel needs beyond the core selectors. Visibility is never decided here:
every ticket read starts from `tickets.selectors.tickets_visible_to`."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache, partial

from django.core.cache import cache
from django.db import connections
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from accounts import permissions as perms
from accounts.compiled import KeptSelect, compiled_once
from accounts.models import Organization, User
from accounts.selectors import agent_visibility, agents_visible
from helpdesk import keyset
from helpdesk.counts import Capped, capped_counts, count_statement
from helpdesk.display import dated, shown
from routing.models import SLA, Department, HelpTopic, Team
from threads.html import inline_images
from threads.models import Attachment, Collaborator, ThreadEntry, ThreadEvent
from threads.selectors import drafts_for, entry_list, event_list, lock_holder
from tickets.config import Snapshot
from tickets.models import (
    TRANSITIONS,
    MergeMode,
    State,
    Task,
    Ticket,
    TicketFieldValue,
    TicketStatus,
)
from tickets.models import transition_permissions as gates
from tickets.permissions import ticket_permissions
from tickets.selectors import (
    AgentScope,
    agent_scope,
    agent_tickets,
    scope_shape,
    scope_with,
    tickets_linked_to,
    tickets_visible_to,
)
from tickets.services import active_lock, may_break_lock

from . import keyset as panel_keyset
from .models import RecoveryCode, SavedQueue
from .pickers import all_statuses
from .queues import (
    Queue,
    ScopeAgent,
    queue_tickets,
    saved_queue,
    system_queues,
    team_ids,
    team_ids_of,
)
from .search import ROW_PERSON, with_row_joins

BULK_PERMISSIONS = (
    "ticket.assign",
    "ticket.transfer",
    "ticket.close",
    "ticket.merge",
    "ticket.delete",
)


# --- sidebar, queues, dashboard ----------------------------------------------------------
def saved_queues_for(user):
    return _saved_queues(user.pk)


def _saved_queues(owner_id: int) -> QuerySet[SavedQueue]:
    return SavedQueue.objects.filter(Q(owner_id=owner_id) | Q(is_shared=True)).select_related(
        "owner"
    )


_KEPT_SAVED_QUEUES = KeptSelect(_saved_queues)  # every full page's sidebar


def sidebar(user, also: Mapping[str, QuerySet | Capped] | None = None) -> dict:
    """The queues with their bounded counts, and the counts `also` asked by the page
    (the header's, a page's tabs: their Capped values set), all in one statement."""
    teams = team_ids(user)
    queues = system_queues(user) + [saved_queue(s) for s in _KEPT_SAVED_QUEUES(owner_id=user.pk)]
    visible = visible_compiled(user)
    scope = agent_scope(user)
    vendor = connections[visible.db].vendor

    def counted(q: Queue) -> Capped:
        if scope is not None and q.saved is None:  # its statement kept for the scope
            return Capped(visible, compiled=partial(_system_count, scope, q.slug, vendor))
        return Capped(queue_tickets(user, q, teams, visible))

    counts = capped_counts(
        {
            **{f"queue:{q.slug}": counted(q) for q in queues if q.countable},
            **(also or {}),
        }
    )
    for q in queues:
        q.count = counts.get(f"queue:{q.slug}")
    return {"queues": queues, "teams": teams}


def visible_compiled(user) -> QuerySet[Ticket]:
    """tickets_visible_to(user) with its condition compiled (accounts.compiled.compiled_once),
    to count, narrow and read in top-level statements only (never as a subquery); an
    agent's is compiled once per process for their scope (tickets.selectors.AgentScope).
    The sidebar's counts and the ticket page's family and client's tickets read it."""
    scope = agent_scope(user)
    if scope is None:
        return compiled_once(tickets_visible_to(user=user))
    return _counted_agent_tickets(scope, connections[Ticket.objects.db].vendor).all()


@lru_cache(maxsize=1024)
def _counted_agent_tickets(scope: AgentScope, vendor: str) -> QuerySet[Ticket]:
    """`vendor`: the database engine the compiled condition is for."""
    return compiled_once(agent_tickets(scope))


@lru_cache(maxsize=4096)
def _system_count(scope: AgentScope, slug: str, vendor: str, limit: int) -> tuple[str, tuple]:
    """The count statement of a system queue for an agent of `scope`, compiled once per
    process: its rows are a function of the scope alone (the visible tickets, the
    agent's key, their teams as a subquery). Compiling the sidebar's seven cost about
    3 ms of every page. EmptyResultSet as count_statement. A system queue whose filter
    read the time (a "due today") would have it frozen here: such a queue must be
    counted through queue_tickets, not kept (the test of this function compares every
    system queue's kept statement with a fresh compile, a second apart)."""
    visible = _counted_agent_tickets(scope, vendor).all()
    queue = Queue(slug, label="")
    agent = ScopeAgent(scope.pk)
    return count_statement(queue_tickets(agent, queue, team_ids_of(scope.pk), visible), limit)


def any_role_allows(user, perm: str) -> bool:
    """osTicket's mass-action check: does any of the agent's roles grant it?"""
    if user.is_helpdesk_admin:
        return True
    return any(perms.has_role_perm(user, perm, d) for d in perms.department_ids(user))


def bulk_permissions(user) -> set[str]:
    return {p for p in BULK_PERMISSIONS if any_role_allows(user, p)}


def queue_rows(user, tickets: QuerySet[Ticket], now=None) -> QuerySet[Ticket]:
    """A queue's tickets with what a row shows, in the page's one statement: the people
    and team (search.with_row_joins), and `locked_by`, who else is working on it
    (threads.selectors.lock_holder). Their department, help topic, priority and status
    come from the configuration snapshot once read (`with_configuration`): joining
    those four tables too made PostgreSQL plan the statement for 4.9 ms, against 1.0
    with three joins, for a 0.5 ms read."""
    return with_row_joins(tickets).annotate(locked_by=lock_holder(except_agent_id=user.pk, now=now))


def kept_queue_page(
    scope: AgentScope, slug: str, field: str, descending: bool, size: int, position
) -> list[Ticket]:
    """A page of a system queue for an agent of `scope` (queue_rows of queue_tickets,
    the statement of helpdesk.keyset.page_of), with a statement compiled once per
    process for the scope, queue, sort, page size and direction (KeptSelect): the rows
    are a function of those, the time the locks hold at, and the position. A position
    of a value no statement can be kept for (none) is read with the ORM's."""
    return panel_keyset.kept_page(
        _KEPT_QUEUE_PAGE, scope, slug, field, descending, size, position, now=timezone.now()
    )


def _queue_page(*shape, agent_id, now, value=None, after=None):
    assigned_only, departments, slug, field, descending, size, back = shape
    scope = scope_with(assigned_only, departments, agent_id)
    agent = ScopeAgent(agent_id)
    queue, visible = Queue(slug, label=""), agent_tickets(scope)
    tickets = queue_tickets(agent, queue, team_ids_of(agent_id), visible)
    rows = queue_rows(agent, tickets, now=now)
    position = None if after is None else (value, after, back)
    return keyset.page_of(rows, field=field, descending=descending, position=position, size=size)


_KEPT_QUEUE_PAGE = KeptSelect(_queue_page)


def dashboard(user) -> dict:
    """Counts of the agent's work, per department, and opened/closed per day (30 days).

    The per-day chart is cached for five minutes per agent: it scans a month of tickets.
    """
    visible = tickets_visible_to(user=user)
    teams = team_ids(user)
    open_ = visible.filter(state=State.OPEN)
    counts = capped_counts(
        {
            "mine": open_.filter(assignee_id=user.pk),
            "unassigned": open_.filter(assignee__isnull=True, team__isnull=True),
            "overdue": open_.filter(is_overdue=True),
            "answered": open_.filter(is_answered=True),
            "teams": open_.filter(team_id__in=teams),
        }
    )
    # per department, counted over what the agent may see (the visibility selector)
    per_dept = list(
        open_.values(name=F("department__name"))
        .annotate(open_count=Count("id"), overdue_count=Count("id", filter=Q(is_overdue=True)))
        .order_by("name")
    )
    key = f"panel:chart:{user.pk}"
    chart = cache.get(key)
    if chart is None:
        chart = _chart(visible)
        cache.set(key, chart, 300)
    return {"counts": counts, "departments": per_dept, "chart": chart}


def _chart(visible) -> dict:
    today = timezone.localdate()
    start = today - dt.timedelta(days=29)
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    opened = dict(
        visible.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("id"))
    )
    closed = dict(
        visible.filter(closed_at__gte=since)
        .annotate(day=TruncDate("closed_at"))
        .values_list("day")
        .annotate(n=Count("id"))
    )
    days = [start + dt.timedelta(days=i) for i in range(30)]
    return {
        "days": days,
        "opened": [opened.get(d, 0) for d in days],
        "closed": [closed.get(d, 0) for d in days],
    }


# --- ticket view -------------------------------------------------------------------------
@dataclass
class TimelineItem:
    kind: str  # "entry" or "event"
    obj: ThreadEntry | ThreadEvent
    at: dt.datetime


def attachment_url(ticket, attachment, *, inline=False) -> str:
    url = reverse("panel:attachment", args=[ticket.number, attachment.pk, attachment.filename])
    return url + ("?inline=1" if inline else "")


def _inline_images(ticket, entry) -> str:
    """Point cid: images of an email at our permission-checked download URL."""
    urls = {
        a.content_id.strip("<>"): attachment_url(ticket, a, inline=True)
        for a in entry.attachment_list
        if a.content_id
    }
    return inline_images(entry.body_html, urls)


def _files(ticket: Ticket, entry: ThreadEntry) -> list[tuple[Attachment, str, bool]]:
    """(attachment, its URL through `ticket`, is it an image) of each of the entry's files."""
    return [
        (a, attachment_url(ticket, a), a.content_type.startswith("image/"))
        for a in entry.attachment_list
    ]


ENTRY_KINDS = tuple(ThreadEntry.Kind.values)


def split_urls(number: str, entries: list[ThreadEntry]) -> None:
    """Set `split_url` ("create a ticket from this entry") on each entry, reversing once."""
    head, tail = reverse("panel:ticket_split", args=[number, 0]).rsplit("/0/", 1)
    for entry in entries:
        shown(entry, split_url=f"{head}/{entry.pk}/{tail}")


def entry_actions(user, work, granted: frozenset[str], items: list[TimelineItem]) -> None:
    """Set on each entry of a ticket's or task's timeline what the agent may do with it
    (the thread entry actions): its URLs' common head `entry_url`, `may_edit` (edit, or
    edit and resend a ticket's response; its history), `may_resend` (a response, with
    ticket.reply). `granted`: tickets.services.edit_permissions. No query per entry."""
    from tickets.services import edit_allowed

    route = "panel:task_entry_history" if isinstance(work, Task) else "panel:entry_history"
    head = reverse(route, args=[work.number, 0]).rsplit("/0/", 1)[0]
    may_reply = "ticket.reply" in granted
    for item in items:
        if item.kind != "entry":
            continue
        e = item.obj
        assert isinstance(e, ThreadEntry)  # an "entry" item holds one
        is_response = e.kind == ThreadEntry.Kind.RESPONSE
        editable = not e.is_system and edit_allowed(user.pk, granted, e)
        shown(
            e,
            entry_url=f"{head}/{e.pk}/",
            may_history=editable,
            may_edit=editable and (may_reply or not is_response),
            may_resend=is_response and may_reply,
        )


def timeline(ticket) -> list[TimelineItem]:
    """Entries (messages, responses, notes) and events in time order, constant queries."""
    from helpdesk.mail.selectors import sender_checks

    items = []
    entries = entry_list(thread_ids=[ticket.thread_id], include_notes=True)
    checks = sender_checks([e.pk for e in entries if e.source == "email"])
    dated(entries)
    split_urls(ticket.number, entries)
    for entry in entries:
        verified, check = checks.get(entry.pk, (None, ""))
        shown(
            entry,
            sender_verified=verified,
            sender_check=check,
            display_html=_inline_images(ticket, entry),
            files=_files(ticket, entry),
        )
        items.append(TimelineItem("entry", entry, entry.created_at))
    # the entries themselves stand for their "posted" events
    events = event_list(thread_id=ticket.thread_id, except_kinds=ENTRY_KINDS)
    dated(events)
    items.extend(TimelineItem("event", event, event.created_at) for event in events)
    items.sort(key=lambda i: (i.at, 0 if i.kind == "entry" else 1, i.obj.pk))
    return items


DRAFTS = ("reply", "note")


def allowed_statuses(
    ticket, granted: frozenset[str], snapshot: Snapshot | None = None
) -> list[TicketStatus]:
    """Statuses this agent may move the ticket to: legal transitions they hold a gate for
    (from the configuration cache given a snapshot: rows to read, not to change)."""
    legal = TRANSITIONS[ticket.state]
    every = (
        all_statuses(snapshot)
        if snapshot is not None
        else TicketStatus.objects.order_by("sort", "name")
    )
    return [
        s
        for s in every
        if s.pk != ticket.status_id and s.state in legal and gates(ticket.state, s.state) & granted
    ]


def collaborators_of(ticket):
    return _KEPT_COLLABORATORS(thread_id=ticket.thread_id)


# compiled once per process (accounts.compiled.KeptSelect)
_KEPT_COLLABORATORS = KeptSelect(
    lambda thread_id: (
        Collaborator.objects.filter(thread_id=thread_id)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
)
_KEPT_CUSTOM_VALUES = KeptSelect(
    lambda ticket_id: (
        TicketFieldValue.objects.filter(ticket_id=ticket_id)
        .select_related("field")
        .order_by("field__sort", "field_id")
    )
)


def undeliverable_people(ticket, collaborators) -> str:
    """Marks the collaborators whose address bounced for good (`undeliverable`, the
    reason) and returns the requester's reason ("" when deliverable): the mail channel
    sends them nothing until an agent clears it."""
    from helpdesk.mail.selectors import undeliverable

    people = [ticket.requester, *(c.user for c in collaborators)]
    marked = undeliverable(p.email for p in people)
    for c in collaborators:
        found = marked.get(c.user.email.lower())
        c.undeliverable = found.reason if found else ""
    found = marked.get(ticket.requester.email.lower())
    return found.reason if found else ""


FAMILY_COLUMNS = ("pk", "number", "subject", "state", "merge_mode", "thread_id", "merged_into_id")
_KEPT_CHILDREN = KeptSelect(
    lambda assigned_only, departments, agent_id, ticket_id: (
        agent_tickets(scope_with(assigned_only, departments, agent_id))
        .only(*FAMILY_COLUMNS)
        .filter(merged_into_id=ticket_id)
        .order_by("pk")
    )
)


def merge_family(user, ticket) -> dict:
    """The ticket's parent and children (merged or linked) that the agent may see, and the
    threads of children merged as separate threads: a constant number of queries."""
    visible = visible_compiled(user).only(*FAMILY_COLUMNS)
    parent = visible.filter(pk=ticket.merged_into_id).first() if ticket.merged_into_id else None
    scope = agent_scope(user)
    if scope is not None:  # the statement compiled once per process for the scope
        children = _KEPT_CHILDREN(*scope_shape(scope), agent_id=scope.pk, ticket_id=ticket.pk)
    else:
        children = list(visible.filter(merged_into_id=ticket.pk).order_by("pk"))
    unmerge_statuses = []
    if ticket.merged_into_id and ticket.merge_mode != MergeMode.LINK:
        unmerge_statuses = list(
            TicketStatus.objects.filter(state__in=[State.OPEN, State.CLOSED]).order_by(
                "sort", "name"
            )
        )
    return {
        "parent": parent,
        "children": children,
        "separate": separate_threads(children),
        "unmerge_statuses": unmerge_statuses,
    }


def separate_threads(children) -> list[tuple]:
    """[(child, entries)] for the children merged as separate threads, shown under the
    parent as osTicket does, attachments linked through the child (its own URL)."""
    by_thread: dict[int, tuple[Ticket, list[ThreadEntry]]] = {
        c.thread_id: (c, []) for c in children if c.merge_mode == MergeMode.SEPARATE
    }
    if not by_thread:
        return []
    for entry in entry_list(thread_ids=list(by_thread), include_notes=True):
        child, entries = by_thread[entry.thread_id]
        shown(entry, display_html=_inline_images(child, entry), files=_files(child, entry))
        entries.append(entry)
    for child, entries in by_thread.values():
        dated(entries)
        split_urls(child.number, entries)
    return list(by_thread.values())


def ticket_page(user, ticket, snapshot: Snapshot) -> dict:
    """Everything the ticket view shows, in a number of queries independent of the thread.
    `snapshot`: the request's configuration (the statuses come from its cache)."""
    granted = ticket_permissions(user, ticket)
    lock = active_lock(ticket)
    statuses = allowed_statuses(ticket, granted, snapshot)
    drafts = drafts_for(agent=user, namespaces=[f"ticket.{ticket.pk}.{k}" for k in DRAFTS])
    ctx = {
        **merge_family(user, ticket),
        **client_context(user, ticket, snapshot),
        "editable": editable_properties(ticket, granted, statuses),
        "may_split": any_role_allows(user, "ticket.create"),
        "may_ban_sender": perms.has_agent_perm(user, "emails.banlist"),
        "ticket": ticket,
        "granted": granted,
        "timeline": (items := timeline(ticket)),
        "collaborators": (collaborators := collaborators_of(ticket)),
        "requester_undeliverable": undeliverable_people(ticket, collaborators),
        "linked": _listed(tickets_linked_to(user=user, ticket=ticket).only(*LINKED_COLUMNS)),
        "lock": lock,
        "locked_by_other": lock is not None and lock.agent_id != user.pk,
        "may_break_lock": may_break_lock(user, ticket),
        "statuses": statuses,
        **{f"draft_{k}": drafts[f"ticket.{ticket.pk}.{k}"] for k in DRAFTS},
        "custom_values": _KEPT_CUSTOM_VALUES(ticket_id=ticket.pk),
    }
    entry_actions(user, ticket, granted, items)
    return ctx


LINKED_COLUMNS = ("pk", "number", "subject")


def _listed(queryset: QuerySet) -> list:
    """The rows; none without compiling a statement that can have none."""
    return [] if queryset.query.is_empty() else list(queryset)


EDITABLE_STATES = (State.OPEN, State.CLOSED)
OTHER_TICKETS_SHOWN = 10


def editable_properties(ticket, granted: frozenset[str], statuses) -> frozenset[str]:
    """The sidebar's properties (and dialogs) this agent may change: the actions of
    views.tickets.ACTIONS they hold the permission for in the ticket's state. Shown
    read-only otherwise; the services check again on every change."""
    live = ticket.state in EDITABLE_STATES
    is_open = ticket.state == State.OPEN
    rules = {
        "status": bool(statuses),
        "assignee": is_open and "ticket.assign" in granted,
        "team": is_open and "ticket.assign" in granted,
        "transfer": is_open and "ticket.transfer" in granted,
        "refer": "ticket.refer" in granted and ticket.state not in (State.ARCHIVED, State.DELETED),
        "priority": live and "ticket.edit" in granted,
        "topic": live and "ticket.edit" in granted,
        "sla": live and "ticket.edit" in granted,
        "fields": live and "ticket.edit" in granted,
        "collaborator": live and "ticket.edit" in granted,
        "edit": live and "ticket.edit" in granted,
        "due": is_open and "ticket.edit" in granted,
        "answered": is_open and "ticket.markanswered" in granted,
        "merge": not ticket.merged_into_id and bool({"ticket.merge", "ticket.link"} & granted),
        "link": "ticket.link" in granted,
    }
    return frozenset(name for name, allowed in rules.items() if allowed)


def client_context(user, ticket, snapshot: Snapshot) -> dict:
    """Beside the thread: the requester's organization and their other tickets that this
    agent may see (the visibility selector), newest first, in two queries. Their status
    comes from `snapshot` (a join over every ticket of a requester with a thousand cost
    more than the sort)."""
    scope = agent_scope(user)
    if scope is not None:  # the statement compiled once per process for the scope
        shown_others = _KEPT_CLIENT_OTHERS(
            *scope_shape(scope),
            agent_id=scope.pk,
            requester_id=ticket.requester_id,
            ticket_id=ticket.pk,
        )
    else:
        shown_others = list(_client_others(visible_compiled(user), ticket.requester_id, ticket.pk))
    for other in shown_others:
        snapshot.fill(other, ("status",))
    return {
        "client_others": shown_others[:OTHER_TICKETS_SHOWN],
        "client_more": len(shown_others) > OTHER_TICKETS_SHOWN,
        "client_org": ticket.organization,
        # links into the directory only for who may browse it (views.directory)
        "may_browse_directory": perms.has_agent_perm(user, "user.dir"),
    }


def _client_others(visible: QuerySet[Ticket], requester_id: int, ticket_id: int) -> QuerySet:
    return (
        visible.filter(requester_id=requester_id)
        .exclude(pk=ticket_id)
        .only("pk", "number", "subject", "state", "updated_at", "status_id")
        .order_by("-updated_at", "-pk")[: OTHER_TICKETS_SHOWN + 1]
    )


_KEPT_CLIENT_OTHERS = KeptSelect(
    lambda assigned_only, departments, agent_id, requester_id, ticket_id: _client_others(
        agent_tickets(scope_with(assigned_only, departments, agent_id)), requester_id, ticket_id
    )
)


def next_ticket(user, ticket, queue_slug: str | None):
    """The ticket after this one in the queue the agent came from (by last update)."""
    queue = next((q for q in system_queues(user) if q.slug == queue_slug), None)
    if queue is None:
        return None
    qs = queue_tickets(user, queue, team_ids(user)).filter(
        Q(updated_at__lt=ticket.updated_at) | Q(updated_at=ticket.updated_at, pk__lt=ticket.pk)
    )
    return qs.order_by("-updated_at", "-pk").values_list("number", flat=True).first()


# --- pickers -------------------------------------------------------------------------------
def assignable_agents(user=None):
    """Active agents by name; those `user` may see (visibility.agents) when given."""
    agents = User.objects.filter(is_agent=True, is_active=True).order_by("name", "email")
    if user is not None:
        from accounts.selectors import agents_visible_to

        agents = agents.filter(pk__in=agents_visible_to(user=user).values("pk"))
    return agents


def agent_picker(user):
    """`assignable_agents(user)` as a bulk picker shows them: their key and name (the
    other columns neither compiled nor read), with a statement compiled once per process
    for what the agents they see depend on (accounts.selectors.agent_visibility)."""
    every, departments = agent_visibility(user)
    return _KEPT_PICKER(every, departments, **({} if every else {"user_id": user.pk}))


_KEPT_PICKER = KeptSelect(
    lambda every, departments, user_id=None: (
        User.objects.filter(is_agent=True, is_active=True)
        .order_by("name", "email")
        .filter(pk__in=agents_visible(every, departments, user_id).values("pk"))
        .only(*ROW_PERSON)
    )
)


def active_teams():
    return Team.objects.filter(is_active=True).order_by("name")


def active_departments():
    return Department.objects.filter(is_active=True).select_related("parent").order_by("name")


def active_topics():
    return (
        HelpTopic.objects.filter(is_active=True).select_related("parent").order_by("sort", "name")
    )


def active_slas():
    return SLA.objects.filter(is_active=True).order_by("name")


# --- directory -----------------------------------------------------------------------------
def clients(text: str = ""):
    from accounts.selectors import clients as people

    qs = people().select_related("organization")
    text = (text or "").strip()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(email__icontains=text))
    return qs


def organizations(text: str = ""):
    qs = Organization.objects.annotate(member_count=Count("members"))
    text = (text or "").strip()
    if text:
        qs = qs.filter(name__icontains=text)
    return qs


def attachment_for(ticket, pk: int):
    """An attachment of this (already visible) ticket's thread, or None."""
    return (
        Attachment.objects.select_related("file")
        .filter(pk=pk, entry__thread_id=ticket.thread_id)
        .first()
    )


def recovery_codes_left(agent) -> int:
    """How many of the agent's recovery codes are still unused."""
    return RecoveryCode.objects.filter(agent=agent, used_at__isnull=True).count()
