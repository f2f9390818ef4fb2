"""Keyset pagination for queues: every page, the first or the ten-thousandth, is one
index range scan of `size + 1` rows after the last row seen, never an OFFSET.

A cursor is an opaque token: (sort key, last value, last id, direction). Ties on the
sort value are broken by id. The views check a cursor before they page (one that does
not decode, or belongs to another sort, answers 400: helpdesk.panel.params); `paginate`
itself starts at the first page when given one anyway.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django_stubs_ext import StrOrPromise

from accounts.compiled import KeptSelect
from helpdesk.keyset import Position, decode, encode, walk
from tickets.selectors import AgentScope, scope_shape


@dataclass(frozen=True)
class Sort:
    key: str  # what the URL says, e.g. "updated"
    field: str  # the ORM path, e.g. "updated_at" or "priority__urgency"
    label: StrOrPromise
    numeric: bool = False  # an integer column: a cursor's value must be an integer


def sort_choices(sorts: dict[str, Sort]) -> list[tuple[str, str]]:
    """A sort parameter's choices: each key, descending ("-key") or ascending."""
    return [(f"-{k}", f"-{k}") for k in sorts] + [(k, k) for k in sorts]


def pick_sort(sorts: dict[str, Sort], raw: str | None, default: str) -> tuple[Sort, bool]:
    """(Sort, descending) that `raw` names, or `default`'s when it names none."""
    raw = raw if raw and raw.lstrip("-") in sorts else default
    return sorts[raw.lstrip("-")], raw.startswith("-")


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None
    size: int


def paginate(
    queryset: QuerySet | None,
    *,
    sort: Sort,
    descending: bool,
    cursor: str | None,
    size: int,
    loaded: Callable[[list], object] | None = None,
    read: Callable[[Position | None], list] | None = None,
) -> Page:
    """One page; `loaded(rows)` completes the rows read (their configuration from the
    snapshot: panel.selectors.queue_rows) before anything reads them. `read(position)`:
    the page's statement (helpdesk.keyset.page_of of `queryset`) read another way, kept
    compiled (panel.selectors.kept_queue_page)."""
    field = sort.field
    sort_key = ("-" if descending else "") + sort.key
    position = decode(cursor, sort_key, field, numeric=sort.numeric) if cursor else None
    page = walk(
        queryset, field=field, descending=descending, position=position, size=size, read=read
    )
    rows, has_next, has_previous = page.rows, page.has_next, page.has_previous
    if loaded is not None:
        loaded(rows)
    return Page(
        rows=rows,
        next_cursor=encode(sort_key, rows[-1], field, False) if has_next and rows else None,
        previous_cursor=encode(sort_key, rows[0], field, True) if has_previous and rows else None,
        size=size,
    )


def kept_page(
    kept: KeptSelect,
    scope: AgentScope,
    slug: str,
    sort_field: str,
    descending: bool,
    size: int,
    position: Position | None,
    **values: object,
) -> list:
    """A page of a queue (or task tab) `slug` for an agent of `scope`, read by `kept`:
    an accounts.compiled.KeptSelect whose build takes the shape (the scope's
    `scope_shape`, the queue, sort, direction, page size and whether it walks back) and
    the values (the agent's key, the position's value and key as `value` and `after`
    when there is one, and `values`)."""
    back = position is not None and position[2]
    shape = (*scope_shape(scope), slug, sort_field, descending, size, back)
    values["agent_id"] = scope.pk
    if position is not None:
        values.update(value=position[0], after=position[1])
    return kept(*shape, **values)
