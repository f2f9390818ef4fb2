"""Task queues (osTicket's task tabs) and task search.

A task queue is a filter over `tickets.selectors.tasks_visible_to(user=...)`, like the
ticket queues (panel.queues): pages are keyset-paginated (panel.keyset), counts are
bounded (`capped_counts`: at most COUNT_CAP + 1 rows each, shown "999+"). Search finds
a visible task by its number, or by words in its title and its thread's text.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import cast

from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.compiled import KeptSelect
from accounts.models import User
from helpdesk.counts import Capped, capped_counts, count_statement
from helpdesk.keyset import page_of
from tickets.models import Task, TaskState
from tickets.selectors import (
    AgentScope,
    agent_scope,
    agent_tasks,
    scope_with,
    tasks_assigned_to,
    tasks_visible_to,
)

from .keyset import Sort, kept_page
from .queues import ScopeAgent, team_ids_of
from .search import recent_candidates, worded

RELATED = ("department", "assignee", "team", "ticket")
RESULTS = 50  # search results shown

# No sort by due date: the keyset walks non-null values only, and most tasks have none.
SORTS = {
    s.key: s
    for s in (
        Sort("updated", "updated_at", _("Last updated")),
        Sort("created", "created_at", _("Created")),
        Sort("number", "number", _("Number")),
        Sort("title", "title", _("Title")),
    )
}

COLUMNS = (
    ("number", _("Task"), "number"),
    ("title", _("Title"), "title"),
    ("ticket", _("Ticket"), None),
    ("department", _("Department"), None),
    ("assignee", _("Assigned to"), None),
    ("due", _("Due"), None),
    ("state", _("State"), None),
    ("updated", _("Last updated"), "updated"),
)


def _assigned(t) -> str:
    names = [t.assignee.display_name if t.assignee else "", t.team.name if t.team else ""]
    return " · ".join(n for n in names if n)


# What each column's cell holds, as plain values (the exports: helpdesk.panel.exports);
# the table (staff/tasks/_table.html) shows the same fields. One entry per COLUMNS key.
CELLS = {
    "number": lambda t: t.number,
    "title": lambda t: t.title,
    "ticket": lambda t: t.ticket.number if t.ticket else "",
    "department": lambda t: t.department.name if t.department else "",
    "assignee": _assigned,
    "due": lambda t: t.due_at if t.state == TaskState.OPEN else None,
    "state": lambda t: str(t.get_state_display()),
    "updated": lambda t: t.updated_at,
}


def column_labels() -> dict[str, str]:
    """What the task table's cells say, translated once per page (not once per cell)."""
    labels = {key: str(label) for key, label, _sort in COLUMNS}
    return labels | {"overdue": str(_("Overdue")), "standalone": str(_("Standalone"))}


@dataclass
class TaskQueue:
    slug: str
    label: StrOrPromise
    default_sort: str = "-updated"
    counted: Capped | None = None  # its bounded count (task_queue_counts)

    @property
    def count(self) -> int | None:
        return None if self.counted is None else self.counted.value


FILTERS = {
    "open": lambda u, teams: Q(state=TaskState.OPEN),
    "overdue": lambda u, teams: Q(state=TaskState.OPEN, is_overdue=True),
    "closed": lambda u, teams: Q(state=TaskState.CLOSED),
}


def task_queues() -> list[TaskQueue]:
    return [
        TaskQueue("open", _("Open")),
        TaskQueue("mine", _("My tasks")),
        TaskQueue("teams", _("My teams")),
        TaskQueue("overdue", _("Overdue")),
        TaskQueue("closed", _("Closed")),
    ]


def find_task_queue(slug: str) -> TaskQueue | None:
    return next((q for q in task_queues() if q.slug == slug), None)


def queue_tasks(
    user, slug: str, teams: Iterable[int], visible: QuerySet[Task] | None = None
) -> QuerySet[Task]:
    """A tab's tasks. "Mine" and "My teams" are assignments, which make a task visible
    to the agent: they are read without the rest of the visibility condition
    (tickets.selectors.tasks_assigned_to), which would join every task's ticket."""
    if slug == "mine":
        return tasks_assigned_to(user=user)
    if slug == "teams":
        return tasks_assigned_to(user=user, teams=teams)
    visible = tasks_visible_to(user=user) if visible is None else visible
    return visible.filter(FILTERS[slug](user, teams))


def task_queue_counts(user, queues: list[TaskQueue], teams: Iterable[int]) -> dict[str, Capped]:
    """Give each queue its bounded count, to be counted in the page's one statement of
    counts (views.common.page(also_count=...); capped_counts of the answer at once). An
    agent of a scope's are compiled once per process (`_tab_count`)."""
    visible = tasks_visible_to(user=user)
    scope = agent_scope(user)
    vendor = connections[visible.db].vendor
    for q in queues:
        if scope is not None:
            q.counted = Capped(visible, compiled=partial(_tab_count, scope, q.slug, vendor))
        else:
            q.counted = Capped(queue_tasks(user, q.slug, teams, visible))
    return {f"task-queue:{q.slug}": q.counted for q in queues if q.counted is not None}


def _scope_tasks(scope: AgentScope, slug: str) -> QuerySet[Task]:
    """A tab's tasks for an agent of `scope`: `queue_tasks` of a function of the scope
    alone (the agent's key, their teams as a subquery, agent_tasks(scope))."""
    agent = ScopeAgent(scope.pk)
    return queue_tasks(agent, slug, team_ids_of(scope.pk), agent_tasks(scope))


@lru_cache(maxsize=4096)
def _tab_count(scope: AgentScope, slug: str, vendor: str, limit: int) -> tuple[str, tuple]:
    """A tab's count statement for an agent of `scope`, compiled once per process (as the
    sidebar's system queues, panel.selectors._system_count). `vendor`: the database
    engine it is compiled for."""
    return count_statement(_scope_tasks(scope, slug), limit)


def kept_task_page(
    scope: AgentScope, slug: str, field: str, descending: bool, size: int, position
) -> list[Task]:
    """A tab's page for an agent of `scope` (helpdesk.keyset.page_of of its tasks with
    RELATED), with a statement compiled once per process for the scope, tab, sort, size
    and direction (accounts.compiled.KeptSelect); the position's value and key go in."""
    return kept_page(_KEPT_TASK_PAGE, scope, slug, field, descending, size, position)


def _task_page(*shape, agent_id, value=None, after=None):
    assigned_only, departments, slug, field, descending, size, back = shape
    scope = scope_with(assigned_only, departments, agent_id)
    tasks = _scope_tasks(scope, slug).select_related(*RELATED)
    position = None if after is None else (value, after, back)
    return page_of(tasks, field=field, descending=descending, position=position, size=size)


_KEPT_TASK_PAGE = KeptSelect(_task_page)


def my_open_tasks(user) -> Capped:
    """The header's "Tasks" figure: the agent's open tasks, bounded like every count
    (tickets.selectors.tasks_assigned_to: assigned tasks are visible to their agent, so
    the visibility's other conditions are not evaluated on every page)."""
    assigned = tasks_assigned_to(user=user)
    vendor = connections[assigned.db].vendor
    return Capped(assigned, compiled=partial(_assigned_statement, user.pk, vendor))


@lru_cache(maxsize=4096)
def _assigned_statement(pk: int, vendor: str, limit: int) -> tuple[str, tuple]:
    """The header's count statement for the agent of key `pk`, compiled once per process
    (`tasks_assigned_to` reads nothing of its agent but the key)."""
    agent = cast(User, ScopeAgent(pk))  # the key, and nothing else to read
    return count_statement(tasks_assigned_to(user=agent), limit)


def my_open_tasks_count(user) -> int:
    return capped_counts({"mine": my_open_tasks(user)})["mine"]


# --- search -----------------------------------------------------------------------------


@dataclass
class TaskResults:
    text: str
    exact: Task | None = None  # a visible task whose number is the query
    tasks: list[Task] | None = None
    truncated: bool = False  # a source had more matches than search.CANDIDATES


def task_search(*, user, text: str) -> TaskResults:
    """A visible task whose number is the text (a leading # ignored), else the most
    recently updated visible tasks whose title or thread text has the words
    (PostgreSQL: full-text, English stemming, the entries' GIN index of panel migration
    0002; SQLite: case-insensitive LIKE)."""
    text = " ".join((text or "").split())[:200]
    results = TaskResults(text=text, tasks=[])
    if not text:
        return results
    visible = tasks_visible_to(user=user)
    results.exact = visible.select_related(*RELATED).filter(number=text.lstrip("#")).first()
    if results.exact is not None:
        results.tasks = [results.exact]
        return results
    by_title, by_text = worded(visible, "title", text)
    found, keys, results.truncated = recent_candidates(
        {"title": by_title, "text": by_text}, slowest="text"
    )
    # newest first on the candidates' keys; then only the rows shown, with their related rows
    ranked = sorted(found, key=lambda pk: (keys[pk][0], pk), reverse=True)
    results.truncated = results.truncated or len(ranked) > RESULTS
    rows = Task.objects.select_related(*RELATED).in_bulk(ranked[:RESULTS])
    results.tasks = [rows[pk] for pk in ranked[:RESULTS] if pk in rows]  # not deleted meanwhile
    return results
