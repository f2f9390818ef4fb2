"""What can be exported: sources registered by name, each rebuilt from JSON parameters
for the agent who asked (in the request, or later in a Celery job), so visibility is
decided by that agent's selectors whenever the rows are read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from accounts.errors import DomainError


@dataclass
class Table:
    """An export's content. `rows` is called once to read the rows lazily (from
    `.iterator(chunk_size=...)` for a queryset, so memory stays flat); `count(cap)`
    answers min(rows, cap + 1) cheaply (a bounded count, not a scan)."""

    name: str  # the download's file name, without extension
    header: Sequence[str]
    rows: Callable[[], Iterable[Sequence[Any]]]
    count: Callable[[int], int]
    detail: dict[str, Any] = field(default_factory=dict)  # for the audit entry (filters)


Builder = Callable[[Any, dict[str, Any]], Table]

SOURCES: dict[str, Builder] = {}


class ExportError(DomainError):
    """An export that cannot be made (an unknown source, bad parameters, too many rows
    for the format); `code` names it."""


def register(kind: str, builder: Builder) -> None:
    """Add (or replace) a source: `builder(user, params) -> Table`. Call it from an
    AppConfig.ready(), so web processes and workers both know it."""
    SOURCES[kind] = builder


def build(kind: str, *, user: Any, params: dict[str, Any]) -> Table:
    builder = SOURCES.get(kind)
    if builder is None:
        raise ExportError(f"No export source {kind!r}.", code="unknown_export")
    return builder(user, params)


def rows_table(
    *, name: str, header: Sequence[str], rows: Sequence[Sequence[Any]], detail: dict | None = None
) -> Table:
    """A Table of rows already in memory (a report's few aggregate rows)."""
    return Table(
        name=name,
        header=header,
        rows=lambda: iter(rows),
        count=lambda cap: min(len(rows), cap + 1),
        detail=detail or {},
    )


def chunked(queryset: Any, row: Callable[[Any], Sequence[Any]], size: int = 500) -> Iterator:
    """Each object of `queryset` as a row, read `size` at a time (server-side cursor on
    PostgreSQL): never a list of the whole result."""
    for obj in queryset.iterator(chunk_size=size):
        yield row(obj)
