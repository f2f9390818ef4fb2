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
condition: `compiled_once(visible)` gives the same rows with the visibility's WHERE
compiled to SQL once, so the seven queues compile only their own conditions (the
visibility, with its three subqueries, was about three quarters of each queue's
compiling).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import BooleanField, Expression, QuerySet

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


class CompiledCondition(Expression):
    """A WHERE condition already compiled to SQL for queries whose base table is
    `alias` (compiled_once). Refuses to be compiled anywhere else: in a subquery the
    table's alias changes, and the SQL would name the outer query's table instead."""

    conditional = True

    def __init__(self, sql: str, params: tuple, alias: str, vendor: str):
        super().__init__(output_field=BooleanField())
        self.sql, self.params, self.alias, self.vendor = sql, params, alias, vendor

    def __repr__(self):
        return f"{self.__class__.__name__}({self.sql!r}, {self.params!r})"

    def relabeled_clone(self, change_map):
        if self.alias in change_map:
            raise ValueError("a compiled condition cannot be used in a subquery")
        return self

    def as_sql(self, compiler, connection):
        query = compiler.query
        if query.subquery or query.base_table != self.alias:
            raise ValueError("a compiled condition belongs to its own top-level query")
        if connection.vendor != self.vendor:
            raise ValueError(f"compiled for {self.vendor}, not {connection.vendor}")
        return f"({self.sql})", list(self.params)


def compiled_once(queryset: QuerySet) -> QuerySet:
    """`queryset`'s rows, as a queryset whose condition is compiled to SQL now, once:
    querysets narrowed from it (`.filter(...)`) compile only their own conditions. For
    a queryset of one table with only a WHERE (any other is returned as it is); the
    result must be compiled as a top-level query, as `capped_counts` does (a subquery
    raises ValueError rather than read another table's rows)."""
    query = queryset.query
    joined = [a for a in query.alias_map if query.alias_refcount[a] and a != query.base_table]
    if (
        joined  # (joins that lookups trimmed stay in alias_map, unreferenced)
        or query.is_sliced
        or query.distinct
        or query.combinator
        or query.annotations
        or query.extra
        or query.select_for_update
        or not query.where
    ):
        return queryset
    compiler = query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.compile(query.where)
    except EmptyResultSet:
        return queryset.none()
    except FullResultSet:
        return queryset
    base = queryset.model._base_manager.all()
    explicit = getattr(queryset, "_db", None)  # `using()`; otherwise the router's, each time
    if explicit is not None:
        base = base.using(explicit)
    vendor = compiler.connection.vendor
    return base.filter(CompiledCondition(sql, tuple(params), query.base_table, vendor))


class CompiledSubquery(Expression):
    """A whole SELECT already compiled to SQL (compiled_subquery), as the right-hand side
    of `__in`. It names only its own tables (compiled as a top-level query, it has no
    outer reference), so it reads the same rows wherever it is placed; it refuses a
    connection of another database engine than the one it was compiled for."""

    def __init__(self, sql: str, params: tuple, vendor: str, output_field):
        super().__init__(output_field=output_field)
        self.sql, self.params, self.vendor = sql, params, vendor

    def __repr__(self):
        return f"{self.__class__.__name__}({self.sql!r}, {self.params!r})"

    def as_sql(self, compiler, connection):
        if connection.vendor != self.vendor:
            raise ValueError(f"compiled for {self.vendor}, not {connection.vendor}")
        return f"({self.sql})", list(self.params)


def compiled_subquery(queryset: QuerySet) -> CompiledSubquery:
    """`queryset` (of one column: `.values("pk")`) compiled to SQL now, once: an
    expression for `field__in=` that costs nothing to compile again. None of its rows
    when it can have none (an empty `IN ()` list)."""
    queryset = queryset.order_by()  # an IN list has no order (a model's default would
    # keep PostgreSQL from pulling the subquery up into the statement around it)
    connection = connections[queryset.db]
    field = queryset.model._meta.pk
    try:
        sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:
        none = queryset.model._base_manager.filter(pk=None).order_by().values("pk")
        sql, params = none.query.sql_with_params()
    return CompiledSubquery(sql, tuple(params), connection.vendor, field)
