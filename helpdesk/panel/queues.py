"""Queues: the system ones (osTicket's), and saved searches shown as queues.

A queue is a filter over `tickets_visible_to(user=...)` plus columns and a sort. Pages
are keyset-paginated (panel.keyset). Counts in the sidebar are bounded: each counts at
most COUNT_CAP + 1 rows (shown as "999+"), so a queue of 900,000 closed tickets costs
the same as a small one; all of a page's counts are one statement (helpdesk.counts).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from helpdesk.counts import COUNT_CAP, capped_counts
from helpdesk.params import day_in_range
from routing.models import Team
from tickets.models import State
from tickets.selectors import tickets_readable_by, tickets_visible_to

from .keyset import Sort
from .models import SavedQueue
from .search import keyword_q

__all__ = ["COUNT_CAP", "capped_counts"]  # the counts: helpdesk.counts

RELATED = ("requester", "priority", "status", "department", "assignee", "team", "topic")

SORTS = {
    s.key: s
    for s in (
        Sort("updated", "updated_at", _("Last updated")),
        Sort("created", "created_at", _("Created")),
        Sort("number", "number", _("Number")),
        Sort("subject", "subject", _("Subject")),
        Sort("priority", "priority__urgency", _("Priority"), numeric=True),
    )
}

COLUMNS = {
    "number": _("Ticket"),
    "subject": _("Subject"),
    "requester": _("From"),
    "priority": _("Priority"),
    "status": _("Status"),
    "department": _("Department"),
    "assignee": _("Assigned to"),
    "team": _("Team"),
    "topic": _("Help topic"),
    "due": _("Due"),
    "created": _("Created"),
    "updated": _("Last updated"),
}
# which sort a column header toggles
COLUMN_SORT = {
    "number": "number",
    "subject": "subject",
    "priority": "priority",
    "created": "created",
    "updated": "updated",
}
DEFAULT_COLUMNS = ["number", "updated", "subject", "requester", "priority", "assignee", "due"]


def _assigned(t) -> str:
    names = [t.assignee.display_name if t.assignee else "", t.team.name if t.team else ""]
    return " · ".join(n for n in names if n)


# What each column's cell holds, as plain values (the exports: helpdesk.panel.exports);
# the table's HTML (staff/queue/_table.html) shows the same fields. One entry per COLUMNS
# key (tests/panel/test_exports.py checks it).
CELLS = {
    "number": lambda t: t.number,
    "subject": lambda t: t.subject,
    "requester": lambda t: t.requester.display_name,
    "priority": lambda t: t.priority.name if t.priority else "",
    "status": lambda t: t.status.name if t.status else "",
    "department": lambda t: t.department.name if t.department else "",
    "assignee": _assigned,
    "team": lambda t: t.team.name if t.team else "",
    "topic": lambda t: t.topic.name if t.topic else "",
    "due": lambda t: t.effective_due_at if t.state == State.OPEN else None,
    "created": lambda t: t.created_at,
    "updated": lambda t: t.updated_at,
}


@dataclass
class Queue:
    slug: str
    label: StrOrPromise
    default_sort: str = "-updated"
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    saved: SavedQueue | None = None  # the saved search behind a saved queue
    countable: bool = True
    problem: str = ""  # why a saved queue's stored criteria cannot be searched
    count: int | None = None  # in the sidebar: its bounded count (selectors.sidebar)

    def filter(self, user, teams: Iterable[int]) -> Q:
        if self.problem:
            return Q(pk__in=[])
        return (
            SYSTEM_FILTERS[self.slug](user, teams)
            if self.saved is None
            else criteria_q(self.saved.criteria, user)
        )


SYSTEM_FILTERS = {
    "open": lambda u, teams: Q(state=State.OPEN),
    "mine": lambda u, teams: Q(state=State.OPEN, assignee_id=u.pk),
    "teams": lambda u, teams: Q(state=State.OPEN, team_id__in=teams),
    "unassigned": lambda u, teams: Q(state=State.OPEN, assignee__isnull=True, team__isnull=True),
    "overdue": lambda u, teams: Q(state=State.OPEN, is_overdue=True),
    "answered": lambda u, teams: Q(state=State.OPEN, is_answered=True),
    "closed": lambda u, teams: Q(state=State.CLOSED),
    "deleted": lambda u, teams: Q(state=State.DELETED),
}


def system_queues(user) -> list[Queue]:
    queues = [
        Queue("open", _("Open")),
        Queue("mine", _("My tickets")),
        Queue("teams", _("My teams")),
        Queue("unassigned", _("Unassigned")),
        Queue("overdue", _("Overdue")),
        Queue("answered", _("Answered")),
        Queue(
            "closed",
            _("Closed"),
            columns=["number", "updated", "subject", "requester", "status", "assignee"],
        ),
    ]
    if user.is_helpdesk_admin:
        queues.append(Queue("deleted", _("Trash"), columns=["number", "updated", "subject"]))
    return queues


def saved_queue(saved) -> Queue:
    problem = criteria_problem(saved.criteria)
    return Queue(
        slug=saved.slug,
        label=saved.name,
        default_sort=saved.sort if saved.sort.lstrip("-") in SORTS else "-updated",
        columns=[c for c in saved.columns if c in COLUMNS] or list(DEFAULT_COLUMNS),
        saved=saved,
        countable=not ((saved.criteria or {}).get("q") or problem),
        problem=problem,
    )


class SearchQueue(Queue):
    """The advanced search's results, shown (and exported) as a queue."""

    def __init__(self, criteria):
        super().__init__(slug="search", label=_("Search results"), columns=list(DEFAULT_COLUMNS))
        self.criteria = criteria
        self.countable = False
        self.searches = True  # over tickets_readable_by: search.all (queue_tickets)

    def filter(self, user, teams):
        return criteria_q(self.criteria, user)


@dataclass(frozen=True)
class ScopeAgent:
    """What a queue's or task tab's filter may read of its agent when its statement is
    kept for a scope (panel.selectors, panel.task_queues): the key, and nothing else
    (reading anything more fails rather than be frozen into a kept statement)."""

    pk: int


def team_ids(user) -> QuerySet:
    """The ids of the agent's teams, as a subquery: the statement that filters by them
    (`team_id__in=`) reads them, with no statement of their own."""
    return team_ids_of(user.pk)


def team_ids_of(pk: int) -> QuerySet:
    return Team.objects.filter(members=pk).order_by().values("pk")


def queue_tickets(
    user, queue: Queue, teams: Iterable[int], visible: QuerySet | None = None
) -> QuerySet:
    """A queue's tickets; `visible` is tickets_visible_to(user=user) when the caller has
    it already (the sidebar builds it once for all its counts)."""
    if visible is None:  # a search (searches=True) reaches what search.all allows
        searches = getattr(queue, "searches", False)
        visible = (tickets_readable_by if searches else tickets_visible_to)(user=user)
    return visible.filter(queue.filter(user, teams))


# --- advanced search criteria (also what a saved queue stores) -------------------------
CRITERIA = (
    "q",
    "state",
    "status",
    "department",
    "priority",
    "topic",
    "assignee",
    "team",
    "source",
    "overdue",
    "answered",
    "created_after",
    "created_before",
    "requester",
)


def criteria_problem(criteria: dict) -> str:
    """Why stored criteria cannot be searched ("" when they can): a day outside what
    every time zone can turn into UTC (helpdesk.params.DayField), saved before it was
    refused. The queue then shows the reason and no rows, instead of failing."""
    bad = [
        key
        for key in ("created_after", "created_before")
        if (criteria or {}).get(key) and not day_in_range(criteria[key])
    ]
    if not bad:
        return ""
    return _("This queue's dates cannot be searched (%(fields)s): edit or delete it.") % {
        "fields": ", ".join(bad)
    }


def _date(value):
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _day_start(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def criteria_q(criteria: dict, user) -> Q:
    """The filter for cleaned criteria (see forms.AdvancedSearchForm.criteria())."""
    c = criteria or {}
    q = Q()
    simple = {
        "state": "state",
        "status": "status_id",
        "department": "department_id",
        "priority": "priority_id",
        "topic": "topic_id",
        "team": "team_id",
        "source": "source",
    }
    for key, lookup in simple.items():
        if c.get(key) not in (None, ""):
            q &= Q(**{lookup: c[key]})
    assignee = c.get("assignee")
    if assignee == "me":
        q &= Q(assignee_id=user.pk)
    elif assignee == "none":
        q &= Q(assignee__isnull=True)
    elif assignee not in (None, ""):
        q &= Q(assignee_id=assignee)
    for key, lookup in (("overdue", "is_overdue"), ("answered", "is_answered")):
        if c.get(key) in ("yes", "no"):
            q &= Q(**{lookup: c[key] == "yes"})
    after, before = _date(c.get("created_after") or ""), _date(c.get("created_before") or "")
    if after:
        q &= Q(created_at__gte=_day_start(after))
    if before:
        q &= Q(created_at__lt=_day_start(before + dt.timedelta(days=1)))
    if c.get("requester"):
        q &= Q(requester__email__iexact=c["requester"])
    if c.get("q"):
        q &= keyword_q(c["q"])
    return q
