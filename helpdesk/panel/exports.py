"""The panel's export sources (helpdesk.exports.registry): a ticket queue, the advanced
search's results and a task queue, each with the columns, filters, sort and visibility
of its page (the queue's own definitions: queues.COLUMNS and CELLS, the selectors behind
queue_tickets and queue_tasks), read in chunks so a million rows stay in flat memory.

Parameters are JSON, so a Celery job rebuilds the same table for the same agent:
- "panel.queue": {"slug": a queue's slug, "sort": e.g. "-updated"}
- "panel.search": {"criteria": the advanced search's cleaned criteria, "sort": ...}
- "panel.task_queue": {"slug": a task queue's slug, "sort": ...}
"""

from typing import Any

from django.http import Http404

from helpdesk.exports.registry import ExportError, Table, chunked, register

from . import task_queues
from .keyset import pick_sort
from .queues import (
    CELLS,
    COLUMNS,
    RELATED,
    SORTS,
    Queue,
    SearchQueue,
    capped_counts,
    queue_tickets,
    team_ids,
)

CHUNK = 500  # model instances with their related rows: ~5 MB a chunk


def _ordered(queryset, sorts: dict, raw: Any, default: str):
    sort, descending = pick_sort(sorts, raw if isinstance(raw, str) else None, default)
    order = (f"-{sort.field}", "-pk") if descending else (sort.field, "pk")
    return queryset.order_by(*order), ("-" if descending else "") + sort.key


def _counter(queryset):
    return lambda cap: capped_counts({"rows": queryset}, cap)["rows"]


def ticket_table(user, queue: Queue, params: dict[str, Any], name: str) -> Table:
    """A queue's tickets as the agent sees them, in its columns and sort."""
    tickets = queue_tickets(user, queue, team_ids(user)).select_related(*RELATED)
    if queue.problem:
        tickets = tickets.none()
    tickets, sort = _ordered(tickets, SORTS, params.get("sort"), queue.default_sort)
    cells = [CELLS[c] for c in queue.columns]
    return Table(
        name=name,
        header=[str(COLUMNS[c]) for c in queue.columns],
        rows=lambda: chunked(tickets, lambda t: [cell(t) for cell in cells], CHUNK),
        count=_counter(tickets),
        detail={"queue": queue.slug, "sort": sort, "columns": list(queue.columns)},
    )


def queue_source(user, params: dict[str, Any]) -> Table:
    from .views.queues import find_queue

    slug = str(params.get("slug") or "")
    try:
        queue = find_queue(user, slug)
    except Http404:
        raise ExportError("No such queue.", code="queue_not_found") from None
    return ticket_table(user, queue, params, name=f"tickets-{slug}")


def search_source(user, params: dict[str, Any]) -> Table:
    criteria = params.get("criteria")
    if not isinstance(criteria, dict) or not criteria:
        raise ExportError("No search criteria.", code="no_criteria")
    table = ticket_table(user, SearchQueue(criteria), params, name="tickets-search")
    table.detail["criteria"] = criteria
    return table


def task_queue_source(user, params: dict[str, Any]) -> Table:
    slug = str(params.get("slug") or "")
    queue = task_queues.find_task_queue(slug)
    if queue is None:
        raise ExportError("No such queue.", code="queue_not_found")
    tasks = task_queues.queue_tasks(user, slug, team_ids(user)).select_related(*task_queues.RELATED)
    tasks, sort = _ordered(tasks, task_queues.SORTS, params.get("sort"), queue.default_sort)
    keys = [key for key, _label, _sort in task_queues.COLUMNS]
    cells = [task_queues.CELLS[k] for k in keys]
    return Table(
        name=f"tasks-{slug}",
        header=[str(label) for _key, label, _sort in task_queues.COLUMNS],
        rows=lambda: chunked(tasks, lambda t: [cell(t) for cell in cells], CHUNK),
        count=_counter(tasks),
        detail={"task_queue": slug, "sort": sort},
    )


def register_sources() -> None:
    register("panel.queue", queue_source)
    register("panel.search", search_source)
    register("panel.task_queue", task_queue_source)
