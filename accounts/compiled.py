"""SQL compiled once, kept for the statements around it.

Some conditions are the same from one request to the next for a given input (an
agent's visible tickets for their `tickets.selectors.AgentScope`), and compiling them
cost more than running them. These wrap SQL the ORM compiled once:

- `compiled_once(queryset)`: the same rows, with the queryset's WHERE already SQL, for
  querysets narrowed from it and compiled as top-level queries (the sidebar's counts);
- `compiled_where(queryset)`: that WHERE itself, to write into a statement kept per
  process (`accounts.rows.RowQuery`: the ticket page's read of one ticket);
- `compiled_subquery(queryset)`: a whole SELECT as the right-hand side of `__in`.

The SQL is the ORM's own; what it reads is decided by the selectors that built the
queryset, not here.
"""

from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, Field, Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)


class CompiledCondition(Expression):
    """A WHERE condition already compiled to SQL for queries whose base table is
    `alias` (compiled_once). Refuses to be compiled anywhere else: in a subquery the
    table's alias changes, and the SQL would name the outer query's table instead."""

    conditional = True

    def __init__(self, sql: str, params: tuple[Any, ...], alias: str, vendor: str) -> None:
        super().__init__(output_field=BooleanField())
        self.sql, self.params, self.alias, self.vendor = sql, params, alias, vendor

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.sql!r}, {self.params!r})"

    def relabeled_clone(self, change_map: Mapping[str, str]) -> "CompiledCondition":
        if self.alias in change_map:
            raise ValueError("a compiled condition cannot be used in a subquery")
        return self

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        query = compiler.query
        if query.subquery or query.base_table != self.alias:
            raise ValueError("a compiled condition belongs to its own top-level query")
        if connection.vendor != self.vendor:
            raise ValueError(f"compiled for {self.vendor}, not {connection.vendor}")
        return f"({self.sql})", self.params


def compiled_once(queryset: QuerySet[M]) -> QuerySet[M]:
    """`queryset`'s rows, as a queryset whose condition is compiled to SQL now, once:
    querysets narrowed from it (`.filter(...)`) compile only their own conditions. For
    a queryset of one table with only a WHERE (any other is returned as it is); the
    result must be compiled as a top-level query, as `capped_counts` does (a subquery
    raises ValueError rather than read another table's rows)."""
    try:
        where = compiled_where(queryset)
    except EmptyResultSet:
        return queryset.none()
    if where is None:
        return queryset
    sql, params, vendor = where
    base = queryset.model._base_manager.all()
    explicit = getattr(queryset, "_db", None)  # `using()`; otherwise the router's, each time
    if explicit is not None:
        base = base.using(explicit)
    return base.filter(CompiledCondition(sql, params, queryset.query.base_table, vendor))


def compiled_where(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...], str] | None:
    """The WHERE of a queryset of one table as SQL: (sql, params, database engine), its
    columns named `"<table>"."<column>"`; None when it has none, or more than a WHERE
    (joins, a slice, annotations: `compiled_once` returns those as they are).
    EmptyResultSet when it can have no rows."""
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
        return None
    compiler = query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.compile(query.where)
    except FullResultSet:
        return None
    return sql, tuple(params), compiler.connection.vendor


class CompiledSubquery(Expression):
    """A whole SELECT already compiled to SQL (compiled_subquery), as the right-hand side
    of `__in`. It names only its own tables (compiled as a top-level query, it has no
    outer reference), so it reads the same rows wherever it is placed; it refuses a
    connection of another database engine than the one it was compiled for."""

    def __init__(
        self, sql: str, params: tuple[Any, ...], vendor: str, output_field: Field[Any, Any]
    ) -> None:
        super().__init__(output_field=output_field)
        self.sql, self.params, self.vendor = sql, params, vendor

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.sql!r}, {self.params!r})"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        if connection.vendor != self.vendor:
            raise ValueError(f"compiled for {self.vendor}, not {connection.vendor}")
        return f"({self.sql})", self.params


def compiled_subquery(queryset: QuerySet[Any]) -> CompiledSubquery:
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
