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

import copy
import datetime
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from django.core.exceptions import EmptyResultSet, FullResultSet, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, router
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


# --- a whole SELECT compiled once, run again with other values ---------------------------

# Stand-ins for a kept statement's values while it is compiled (KeptSelect): two sets,
# so that a parameter that changes from one to the other is a value's, and any other
# parameter is the statement's own. The two sides differ in every way a value's
# preparation could reduce them to the same thing: integers of other magnitudes and
# strides (one slot's stand-in plus a constant is no other slot's on both sides), within
# a smallint's range (Django compiles a value out of a column's range as no rows) and
# positive (a positive-only column); strings of other lengths and prefixes, both cases,
# spaces around (lower, upper, strip); datetimes aware, on other dates, hours and
# fractions of a second (truncation, naive to aware). `type(value) is` one of these
# (True is not an int here). A value must go into the statement as it is given (not
# a date taken from a time, not a key plus one) and not into a prefetch's queryset:
# the check cannot see through everything.
_STAND_INS: dict[type, tuple[Callable[[int], Any], Callable[[int], Any]]] = {
    int: (lambda slot: 20_010 + 101 * slot, lambda slot: 27_017 + 37 * slot),
    str: (lambda slot: f" \u2063Kept{slot}a ", lambda slot: f"  ZQ-{slot}-Stand-In-B\t"),
    datetime.datetime: (
        lambda slot: (
            datetime.datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=datetime.UTC)
            + datetime.timedelta(minutes=7 * slot)
        ),
        lambda slot: (
            datetime.datetime(1957, 8, 19, 15, 41, 52, 123456, tzinfo=datetime.UTC)
            + datetime.timedelta(hours=11 * slot)
        ),
    ),
}
# what building or compiling a statement with stand-ins may raise for a value of a type
# its field does not take (a string for an integer): the ORM's statement, each time
BUILD_REFUSALS = (EmptyResultSet, FullResultSet, ValueError, TypeError, ValidationError)
# statements kept per KeptSelect, the least recently used dropped first (one is 50 to
# 70 KiB with its prototype queryset and compiler)
KEPT_SHAPES = 256


class _KeptPlan:
    __slots__ = ("compiler", "params", "prototype", "slots", "sql")

    def __init__(
        self,
        prototype: QuerySet[Any],
        compiler: SQLCompiler,
        sql: str,
        params: tuple[Any, ...],
        slots: tuple[tuple[int, str], ...],
    ) -> None:
        self.prototype, self.compiler = prototype, compiler
        self.sql, self.params, self.slots = sql, params, slots


class _KeptQuery:
    """The prototype's query, answering with the kept statement: what Django's iterables
    ask of a query (get_compiler, the selected names) and nothing else."""

    def __init__(self, query: Any, compiler: SQLCompiler) -> None:
        self._query, self._compiler = query, compiler

    def get_compiler(
        self, using: str | None = None, connection: Any = None, elide_empty: bool = True
    ) -> SQLCompiler:
        return self._compiler

    def __getattr__(self, name: str) -> Any:
        return getattr(self._query, name)


class KeptSelect:
    """A SELECT built by `build(*shape, **values)` (a queryset), compiled to SQL once per
    process, `shape` and database engine, then run again with other `values` (ids,
    numbers, times: ints, strings and datetimes; others, None among them, are compiled
    each time) without compiling: the rows, as the queryset returns them (model
    instances with their select_related rows, values, prefetches).

    `build` must be a function of its arguments alone: `shape` is everything else its
    statement depends on (an agent's departments: tickets.selectors.scope_shape),
    hashable. Each statement is compiled twice, with two sets of stand-ins for
    `values`; it is kept only when the two are the same SQL and their parameters differ
    exactly where a value goes, so a statement that changes with anything else (the
    time, a value used twice in different ways) is not kept: `build`'s queryset is then
    run as it is, every time.
    Returns a list (a queryset could be narrowed, and would still run the kept SQL)."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *, shapes: int = KEPT_SHAPES) -> None:
        self.build = build
        self._plans: OrderedDict[tuple[Any, ...], _KeptPlan | None] = OrderedDict()
        self._shapes = shapes
        self._lock = threading.Lock()

    def __call__(self, *shape: Any, **values: Any) -> list[Any]:
        using = self._using(shape, values)
        key = self._key(using, shape, values)
        plan = self._plans.get(key, _MISSING)
        if plan is _MISSING:
            plan = self._plan(shape, values, using)
            with self._lock:
                self._plans[key] = plan
                while len(self._plans) > self._shapes:
                    self._plans.popitem(last=False)  # the least recently used
        else:
            with self._lock:
                if key in self._plans:
                    self._plans.move_to_end(key)
        if plan is None:  # not kept: the ORM's statement, compiled now
            return list(self.build(*shape, **values))
        return self._run(cast(_KeptPlan, plan), values, using)

    def kept(self, *shape: Any, **values: Any) -> bool:
        """Whether the statement for `shape` (and values of these names and types) is
        kept."""
        using = self._using(shape, values)
        return self._plans.get(self._key(using, shape, values)) is not None

    @staticmethod
    def _key(using: str, shape: tuple[Any, ...], values: dict[str, Any]) -> tuple[Any, ...]:
        kinds = tuple((name, type(values[name])) for name in sorted(values))
        return (connections[using].vendor, shape, kinds)

    def _using(self, shape: tuple[Any, ...], values: dict[str, Any]) -> str:
        # the database the router picks for this model now (a replica, per request)
        model = self._model
        if model is None:
            model = self._model = self.build(*shape, **values).model
        return router.db_for_read(model) or DEFAULT_DB_ALIAS

    _model: type[Model] | None = None

    def _plan(self, shape: tuple[Any, ...], values: dict[str, Any], using: str) -> _KeptPlan | None:
        names = sorted(values)  # (the key's order, whatever the call's)
        if any(type(value) not in _STAND_INS for value in values.values()):
            return None  # None (IS NULL), a list (IN): statements of other shapes
        stand_ins = [
            {name: _STAND_INS[type(values[name])][side](slot) for slot, name in enumerate(names)}
            for side in (0, 1)
        ]
        compiled = []
        for given in stand_ins:
            try:
                prototype = self.build(*shape, **given)
                if getattr(prototype, "_db", None) is not None:
                    return None  # using(): a statement for that database only
                compiler = prototype.query.get_compiler(using=using)
                sql, params = compiler.as_sql()
            except BUILD_REFUSALS:
                return None
            compiled.append((prototype, compiler, sql, tuple(params)))
        (prototype, compiler, sql, params), (_, _, other_sql, other_params) = compiled
        if sql != other_sql or len(params) != len(other_params):
            return None
        slots = []
        for position, (first, second) in enumerate(zip(params, other_params, strict=True)):
            if first == second:
                continue
            name = next((n for n in names if stand_ins[0][n] == first), None)
            if name is None or stand_ins[1][name] != second:
                return None  # a parameter that changes with something else than a value
            slots.append((position, name))
        if {name for _, name in slots} != set(names):
            return None  # a value the statement does not use, or uses transformed
        return _KeptPlan(prototype, compiler, sql, params, tuple(slots))

    @staticmethod
    def _run(plan: _KeptPlan, values: dict[str, Any], using: str) -> list[Any]:
        params = list(plan.params)
        for position, name in plan.slots:
            params[position] = values[name]
        compiler = copy.copy(plan.compiler)
        sql = plan.sql
        compiler.__dict__.update(  # this database's connection, the kept statement
            connection=connections[using],
            using=using,
            as_sql=lambda *args, **kwargs: (sql, params),
        )
        # a queryset of the prototype's own, but for its query (QuerySet's copy would
        # run the prototype's statement, pickling its rows)
        prototype = plan.prototype
        queryset = object.__new__(type(prototype))
        queryset.__dict__.update(
            prototype.__dict__,
            # (QuerySet.query is a property of _query)
            _query=_KeptQuery(prototype.query, compiler),
            _deferred_filter=None,
            _db=using,
            _result_cache=None,
            _prefetch_done=False,
        )
        return list(queryset)


_MISSING = object()
