"""Bounded counts, many in one statement.

A count shown on a page (the sidebar's queues, the header's tasks and bell, the task
tabs) reads at most its cap + 1 rows: "999+" costs the same as a small queue. Every page
of the panel shows about ten of them; `capped_counts` asks them all in one statement

    SELECT (SELECT COUNT(*) FROM (<queue 1> LIMIT 1000) AS c) AS c0,
           (SELECT COUNT(*) FROM (<queue 2> LIMIT 1000) AS c) AS c1, ...

each subquery being the ORM's own SQL of a queryset built by the selectors (who may see
what is decided there, not here). PostgreSQL's JIT is off on our connections
(config/settings.py, DATABASE_JIT): the sum of the subqueries' estimates would cross its
threshold and compiling cost far more than the counting.

The sidebar's queues are each the agent's visible tickets narrowed by the queue's
condition: `accounts.compiled.compiled_once(visible)` gives the same rows with the
visibility's WHERE compiled to SQL once, so the seven queues compile only their own
conditions (the visibility, with its three subqueries, was about three quarters of each
queue's compiling).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

COUNT_CAP = 999  # read at call time (tests lower it)


@dataclass
class Capped:
    """A queryset to count up to `cap` + 1 rows (COUNT_CAP when None); `value` is set
    once counted, so a page can hand one to the statement that counts for the frame and
    read it afterwards."""

    queryset: QuerySet
    cap: int | None = None
    value: int | None = None
    # the queryset's statement for a limit, compiled beforehand (the sidebar keeps its
    # system queues' per agent scope); `queryset` still names the database
    compiled: Callable[[int], tuple[str, tuple]] | None = None


def capped_counts(
    querysets: Mapping[str, QuerySet | Capped], cap: int | None = None
) -> dict[str, int]:
    """{key: min(count, cap + 1)} of each queryset (or Capped): one statement for all of
    them (one per database, when some read from the replica)."""
    default = COUNT_CAP if cap is None else cap
    items = {
        key: c if isinstance(c, Capped) else Capped(c, default) for key, c in querysets.items()
    }
    out: dict[str, int] = {}
    by_db: dict[str, list[tuple[str, str, tuple]]] = {}
    for key, item in items.items():
        limit = (default if item.cap is None else item.cap) + 1
        try:
            sql, params = (
                item.compiled(limit)
                if item.compiled is not None
                else count_statement(item.queryset, limit)
            )
        except EmptyResultSet:  # e.g. "my teams" for an agent in no team
            out[key] = 0
            continue
        by_db.setdefault(item.queryset.db, []).append((key, sql, tuple(params)))
    for db, parts in by_db.items():
        # the SQL is the ORM's own, with its parameters kept apart
        select = ", ".join(
            f"(SELECT COUNT(*) FROM ({sql}) AS c{i}) AS n{i}"  # noqa: S608
            for i, (_key, sql, _params) in enumerate(parts)
        )
        with connections[db].cursor() as cursor:
            cursor.execute(f"SELECT {select}", [p for part in parts for p in part[2]])
            row = cursor.fetchone()
        out.update({key: row[i] for i, (key, _sql, _params) in enumerate(parts)})
    for key, item in items.items():
        item.value = out[key]
    return out


def count_statement(queryset: QuerySet, limit: int) -> tuple[str, tuple]:
    """The statement `capped_counts` counts the rows of: at most `limit` of their keys.
    EmptyResultSet when the queryset can have none."""
    sql, params = queryset.order_by().values("pk")[:limit].query.sql_with_params()
    return sql, tuple(params)
