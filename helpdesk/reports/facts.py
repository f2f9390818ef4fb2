"""The facts of a ticket, derived from its history (thread events and entries).

Walking a ticket's events in order keeps its department, agent and team as they were
at each moment; each countable event becomes a `Fact` with those:

- opened (its creation; an assignment made by the opening itself belongs to it),
  assigned (each assignment), overdue (each time the sweep flags it),
- closed (open -> closed): `seconds` is the resolution time, from the start of the SLA
  clock (the opening, or the last reopening) to the close, counted over the SLA's
  business hours (routing.sla.business_time_between, as the SLA measures), the time
  spent in a status that pauses the SLA left out; `met_sla` whether it closed in time
  (by the agent's due date when set, else within the SLA's grace hours; None without
  either),
- reopened (closed or archived -> open), deleted (moved to the trash),
- response (an agent's response entry): `seconds` from the oldest client message it
  answers (None when it answers none), in business hours; `first` on the ticket's first
  response, whose `seconds` run from the opening: the first response time,
- moved: the ticket leaving or entering the open backlog without a counted kind (archived,
  restored from the trash) or, while open, changing department, agent or team (-1 with
  the old, +1 with the new), so the backlog sums right in every dimension.

The topic and the channel are the ticket's own (as they are now). A ticket with no
events (imported, seeded) gets its opening and, when closed, its close.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction

from routing.sla import business_time_between
from threads.models import ThreadEntry, ThreadEvent
from tickets.models import State, Ticket, TicketStatus

from .models import Fact

K = Fact.Kind
BATCH = 500
OPEN_STATES = {State.OPEN}
# an assignment this close to the opening is the opening's own (auto-assignment, filters)
OPENING_WINDOW = dt.timedelta(seconds=2)


@dataclass(frozen=True)
class Dims:
    department_id: int | None
    agent_id: int | None = None
    team_id: int | None = None


def _id(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, int) else None


class Walker:
    """One ticket's history walked in order, collecting its facts."""

    def __init__(self, ticket: Ticket, pausing: frozenset[int] = frozenset()):
        self.t = ticket
        self.pausing = pausing  # the statuses that stop the SLA clock
        self.paused = 0  # business seconds the clock stood still since it started
        self.paused_since: dt.datetime | None = None
        self.schedule = ticket.sla.schedule if ticket.sla is not None else None
        self.dims = Dims(ticket.department_id)
        self.facts: list[Fact] = []
        self.open = True
        self.clock_start = ticket.created_at
        self.waiting_since: dt.datetime | None = ticket.created_at
        self.responded = False
        self.opening: Fact | None = None

    def fact(self, kind: str, at: dt.datetime, dims: Dims | None = None, **extra) -> Fact:
        d = dims or self.dims
        f = Fact(
            ticket_id=self.t.pk,
            kind=kind,
            at=at,
            day=at.astimezone(dt.UTC).date(),
            department_id=d.department_id,
            topic_id=self.t.topic_id,
            agent_id=d.agent_id,
            team_id=d.team_id,
            channel=self.t.source,
            **extra,
        )
        self.facts.append(f)
        return f

    def business(self, start: dt.datetime, end: dt.datetime) -> int:
        return int(business_time_between(start, end, self.schedule).total_seconds())

    def move(self, at: dt.datetime, new: Dims) -> None:
        if new == self.dims:
            return
        if self.opening is not None and at - self.opening.at <= OPENING_WINDOW:
            self.dims = new  # the opening's own assignment: the opening carries it
            o = self.opening
            o.department_id, o.agent_id, o.team_id = new.department_id, new.agent_id, new.team_id
            return
        if self.open:
            self.fact(K.MOVED, at, backlog=-1)
            self.fact(K.MOVED, at, new, backlog=1)
        self.dims = new

    def event(self, kind: str, data: dict, at: dt.datetime) -> None:
        E = ThreadEvent.Kind
        if kind == E.CREATED:
            self.dims = Dims(_id(data.get("department")) or self.t.department_id)
            self.opening = self.fact(K.OPENED, at, backlog=1)
            if _id(data.get("status")) in self.pausing:
                self.paused_since = at
        elif kind == E.ASSIGNED:
            self.move(
                at,
                replace(self.dims, agent_id=_id(data.get("agent")), team_id=_id(data.get("team"))),
            )
            self.fact(K.ASSIGNED, at)
        elif kind == E.RELEASED:
            new = self.dims
            if data.get("previous_agent"):
                new = replace(new, agent_id=None)
            if data.get("previous_team"):
                new = replace(new, team_id=None)
            self.move(at, new)
        elif kind == E.TRANSFERRED:
            self.move(at, replace(self.dims, department_id=_id(data.get("after"))))
        elif kind == E.OVERDUE:
            self.fact(K.OVERDUE, at)
        elif kind == E.STATUS_CHANGED:
            before = (data.get("before") or {}).get("state")
            after = (data.get("after") or {}).get("state")
            self.pause(after == State.OPEN and _id(data.get("after")) in self.pausing, at)
            self.status(before, after, at)

    def pause(self, pausing: bool, at: dt.datetime) -> None:
        """The SLA clock stops in a status that pauses it and runs again after (as
        tickets.services.status._pause_or_resume: the due date moves by the pause)."""
        if pausing and self.paused_since is None:
            self.paused_since = at
        elif not pausing and self.paused_since is not None:
            self.paused += self.business(self.paused_since, at)
            self.paused_since = None

    def status(self, before: str | None, after: str | None, at: dt.datetime) -> None:
        if before == after or before is None or after is None:
            return
        if before == State.OPEN and after == State.CLOSED:
            self.close(at)
        elif after == State.OPEN and before in (State.CLOSED, State.ARCHIVED):
            self.fact(K.REOPENED, at, backlog=1)
            self.clock_start, self.waiting_since, self.paused = at, None, 0
        elif after == State.DELETED:
            self.fact(K.DELETED, at, backlog=-1 if before == State.OPEN else 0)
        elif before == State.OPEN or after == State.OPEN:
            self.fact(K.MOVED, at, backlog=1 if after == State.OPEN else -1)
        self.open = after == State.OPEN

    def close(self, at: dt.datetime) -> None:
        """Resolution: the clock's business time, its pauses left out. In time: by the
        agent's due date when there is one, else within the SLA's grace hours."""
        active = self.business(self.clock_start, at) - self.paused
        if self.t.due_at is not None:
            met: bool | None = at <= self.t.due_at
        elif self.t.sla is not None:
            met = active <= self.t.sla.grace_hours * 3600
        else:
            met = None
        self.fact(K.CLOSED, at, seconds=active, met_sla=met, backlog=-1)

    def entry(self, kind: str, poster_id: int | None, at: dt.datetime) -> None:
        if kind == ThreadEntry.Kind.MESSAGE:
            if self.waiting_since is None:
                self.waiting_since = at
            return
        first = not self.responded
        start = self.t.created_at if first else self.waiting_since
        self.fact(
            K.RESPONSE,
            at,
            replace(self.dims, agent_id=poster_id),
            seconds=None if start is None else self.business(start, at),
            first=first,
        )
        self.responded, self.waiting_since = True, None

    def without_events(self) -> None:
        """A ticket with no history: its opening and, when closed, its close."""
        self.dims = Dims(self.t.department_id, self.t.assignee_id, self.t.team_id)
        self.fact(K.OPENED, self.t.created_at, backlog=1)
        if self.t.state != State.OPEN:
            if self.t.state == State.CLOSED and self.t.closed_at is not None:
                self.close(self.t.closed_at)
            else:
                self.status(State.OPEN, self.t.state, self.t.closed_at or self.t.updated_at)


def ticket_facts(
    ticket: Ticket, events: list[dict], entries: list[dict], pausing: frozenset[int] = frozenset()
) -> list[Fact]:
    """The facts of one ticket from its events and its message/response entries (each
    a dict with kind, created_at and data or poster_id); `pausing`: the ids of the
    statuses that stop the SLA clock."""
    walker = Walker(ticket, pausing)
    if not any(e["kind"] == ThreadEvent.Kind.CREATED for e in events):
        walker.without_events()
        events = [e for e in events if e["kind"] != ThreadEvent.Kind.STATUS_CHANGED]
    timeline = [(e["created_at"], 0, e["id"], e) for e in events]
    timeline += [(e["created_at"], 1, e["id"], e) for e in entries]
    for at, is_entry, _, row in sorted(timeline, key=lambda r: r[:3]):
        if is_entry:
            walker.entry(row["kind"], row["poster_id"], at)
        else:
            walker.event(row["kind"], row["data"] or {}, at)
    return walker.facts


def _load(ids: list[int]) -> tuple[list[Ticket], dict[int, list[dict]], dict[int, list[dict]]]:
    tickets = list(
        Ticket.objects.filter(pk__in=ids)
        .select_related("sla__schedule")
        .prefetch_related("sla__schedule__hours", "sla__schedule__holidays")
        .only(
            "pk", "thread_id", "department_id", "assignee_id", "team_id", "topic_id", "source",
            "state", "created_at", "updated_at", "closed_at", "due_at", "sla",
        )
    )  # fmt: skip
    threads = [t.thread_id for t in tickets]
    events: dict[int, list[dict]] = {t: [] for t in threads}
    for e in ThreadEvent.objects.filter(thread_id__in=threads).values(
        "id", "thread_id", "kind", "data", "created_at"
    ):
        events[e["thread_id"]].append(e)
    entries: dict[int, list[dict]] = {t: [] for t in threads}
    kinds = [ThreadEntry.Kind.MESSAGE, ThreadEntry.Kind.RESPONSE]
    for e in ThreadEntry.objects.filter(thread_id__in=threads, kind__in=kinds).values(
        "id", "thread_id", "kind", "poster_id", "created_at"
    ):
        entries[e["thread_id"]].append(e)
    return tickets, events, entries


def facts_rebuild(ticket_ids: Iterable[int]) -> set[dt.date]:
    """Derive again the facts of these tickets (a ticket that no longer exists keeps
    its facts: the past it counted stays counted). Returns the days whose sums changed."""
    from .rollup import mark_days

    ids = sorted(set(ticket_ids))
    pausing = frozenset(TicketStatus.objects.filter(pauses_sla=True).values_list("pk", flat=True))
    touched: set[dt.date] = set()
    for i in range(0, len(ids), BATCH):
        tickets, events, entries = _load(ids[i : i + BATCH])
        found = [t.pk for t in tickets]
        facts = [
            f
            for t in tickets
            for f in ticket_facts(t, events[t.thread_id], entries[t.thread_id], pausing)
        ]
        with transaction.atomic():
            old = Fact.objects.filter(ticket_id__in=found)
            days = set(old.values_list("day", flat=True).distinct()) | {f.day for f in facts}
            old.delete()
            Fact.objects.bulk_create(facts, batch_size=1000)
            mark_days(days)
        touched |= days
    return touched
