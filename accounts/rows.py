"""Hot lookups written once per process instead of compiled by the ORM per call.

A handful of reads run on every API request (the caller's token, the settings row, the
requester by email). Compiling their querysets cost more than running them, so these
few are written once per process and database connection from the models' metadata;
rows become model instances through Model.from_db() and each field's own database
converters, exactly as the ORM builds them. Everything else uses the ORM.

    FIND = RowQuery(
        [(User, "u"), (Role, "r")],
        lambda q: f"FROM {q.table(User)} u LEFT OUTER JOIN {q.table(Role)} r"
        f" ON r.{q.pk(Role)} = u.{q.column(User, 'role')} WHERE u.{q.pk(User)} = %s",
    )
    user, role = FIND.one([42]) or (None, None)

The tail is SQL with %s parameters; identifiers come from the models, quoted. `extra`
adds plain columns after the models' (say, ids from a join table), given back as they
come from the database after the instances; `all()` answers every row.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Col

# a database converter: (value, expression, connection) -> value
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


class Quoter:
    """Quoted identifiers of a model for one connection, for the SQL tail."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self._qn: Callable[[str], str] = connection.ops.quote_name

    def table(self, model: type[models.Model]) -> str:
        return self._qn(model._meta.db_table)

    def pk(self, model: type[models.Model]) -> str:
        return self._qn(_column(_pk(model)))

    def column(self, model: type[models.Model], field: str) -> str:
        found = model._meta.get_field(field)
        if not isinstance(found, models.Field):
            raise TypeError(f"{model._meta.label}.{field} is a relation, not a column")
        return self._qn(_column(found))


def _pk(model: type[models.Model]) -> models.Field[Any, Any]:
    pk = model._meta.pk
    if pk is None:  # only abstract models have none
        raise TypeError(f"{model._meta.label} has no primary key")
    return pk


def _column(field: models.Field[Any, Any]) -> str:
    if field.column is None:  # only fields without a column of their own have none
        raise TypeError(f"{field} has no column")
    return field.column


@dataclass(frozen=True)
class _Part:
    """One model's columns in a row: where they start and how to convert them."""

    model: type[models.Model]
    start: int
    attnames: tuple[str, ...]
    converters: tuple[tuple[Col, tuple[Converter, ...]], ...]  # per column
    pk_index: int

    def build(self, connection: BaseDatabaseWrapper, row: Sequence[Any]) -> models.Model | None:
        values = row[self.start : self.start + len(self.attnames)]
        if values[self.pk_index] is None:  # no row on this side of a left join
            return None
        out = []
        for value, (column, converters) in zip(values, self.converters, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            out.append(value)
        return self.model.from_db(connection.alias, self.attnames, out)


@dataclass(frozen=True)
class _Plan:
    sql: str
    parts: tuple[_Part, ...]
    extra_start: int  # where the extra columns begin


class RowQuery:
    """SELECT every concrete column of `models` ([(model, alias), ...], in order)
    followed by `tail(quoter)`: FROM, joins, WHERE with %s parameters, LIMIT."""

    def __init__(
        self,
        models: Sequence[tuple[type[models.Model], str]],
        tail: Callable[[Quoter], str],
        extra: Callable[[Quoter], Sequence[str]] | None = None,
    ) -> None:
        self._models = tuple(models)
        self._tail = tail
        self._extra = extra
        self._plans: dict[str, _Plan] = {}

    def _plan(self, connection: BaseDatabaseWrapper) -> _Plan:
        plan = self._plans.get(connection.alias)
        if plan is not None:
            return plan
        quote = connection.ops.quote_name
        parts: list[_Part] = []
        columns: list[str] = []
        start = 0
        for model, alias in self._models:
            fields = list(model._meta.concrete_fields)
            converters = []
            for field in fields:
                column = field.get_col(alias)
                found = (
                    *connection.ops.get_db_converters(column),
                    *field.get_db_converters(connection),
                )
                converters.append((column, found))
            attnames = tuple(f.attname for f in fields)
            pk_index = attnames.index(_pk(model).attname)
            parts.append(_Part(model, start, attnames, tuple(converters), pk_index))
            columns += [f"{alias}.{quote(_column(f))}" for f in fields]
            start += len(fields)
        if self._extra is not None:
            columns += self._extra(Quoter(connection))
        sql = f"SELECT {', '.join(columns)} {self._tail(Quoter(connection))}"
        plan = self._plans[connection.alias] = _Plan(sql, tuple(parts), start)
        return plan

    def one(
        self, params: Sequence[Any], using: str | None = None
    ) -> tuple[models.Model | None, ...] | None:
        """The first row as a tuple of instances (None for an empty left join), or None."""
        connection = connections[using or self._models[0][0]._default_manager.db]
        plan = self._plan(connection)
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, list(params))
            row = cursor.fetchone()
        if row is None:
            return None
        return self._build(connection, plan, row)

    def all(self, params: Sequence[Any], using: str | None = None) -> list[tuple[Any, ...]]:
        """Every row, each as its instances (None for an empty left join) followed by
        the extra columns' values."""
        connection = connections[using or self._models[0][0]._default_manager.db]
        plan = self._plan(connection)
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, list(params))
            rows = cursor.fetchall()
        return [self._build(connection, plan, row) for row in rows]

    @staticmethod
    def _build(connection: BaseDatabaseWrapper, plan: _Plan, row: Sequence[Any]) -> tuple[Any, ...]:
        built = tuple(part.build(connection, row) for part in plan.parts)
        return built + tuple(row[plan.extra_start :])
