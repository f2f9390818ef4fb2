"""Hot lookups and inserts written once per process instead of compiled by the ORM per
call.

A handful of reads run on every API request (the caller's token, the settings row, the
requester by email). Compiling their querysets cost more than running them, so these
few are written once per process and database connection from the models' metadata;
rows become model instances through Model.from_db() and each field's own database
converters, exactly as the ORM builds them. Everything else uses the ORM.

Models whose rows every ticket create inserts (thread, ticket, entry, event) take
`InsertWrittenOnce`: Model.save() runs as always (its signals, overrides, checks and
transaction handling), only the single row's INSERT statement is written once per
process (see the class). A model that names an `insert_conflict_field` (tickets and
tasks: their number) has a clash on that column answered by `RowConflict` with the
transaction still usable, so a random number that was taken is drawn again without a
savepoint around every insert (two round trips).

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
from typing import Any, cast

from django.db import IntegrityError, connections, models, transaction
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


class RowConflict(IntegrityError):
    """The row was not inserted: another has its value of the model's
    `insert_conflict_field`. Nothing failed in the database; the caller may go on in the
    transaction once it has told Django so (`transaction.set_rollback(False)`: Model.save
    marks the atomic block for rollback on any exception)."""


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    fields: tuple[tuple[models.Field[Any, Any], bool], ...]  # (field, its own pre_save)
    returning_params: tuple[Any, ...]
    returning: tuple[tuple[Col, tuple[Converter, ...]], ...]  # per returned column
    skips_conflicts: bool = False  # ON CONFLICT (<insert_conflict_field>) DO NOTHING


# (model, database, raw, fields, returned fields) -> the plan, or None: the ORM's
_INSERTS: dict[tuple[Any, ...], _InsertPlan | None] = {}


class InsertWrittenOnce:
    """Model mixin: the INSERT of one new row (Model.save() of an instance not yet in the
    database) written once per process, connection and set of columns, instead of
    compiled by the ORM for every save. It replaces Django's Model._do_insert, writing the
    statement and parameters SQLInsertCompiler writes for one row (a test compares them):
    each value through its field's pre_save() (auto_now_add) and get_db_prep_save(), the
    returned columns through their converters. Everything around the INSERT is
    Model.save()'s own (signals, the model's save(), related-field checks, the
    transaction). The ORM still compiles it for a value that is an expression, a field
    with its own placeholder, a raw save, a row without columns, or a backend that
    cannot return columns from an insert.

    `insert_conflict_field`: a column with a unique constraint of its own; an INSERT
    that clashes on it raises `RowConflict` and leaves the transaction usable
    (`ON CONFLICT (column) DO NOTHING` and no row returned; where the ORM compiles the
    INSERT, inside a savepoint)."""

    insert_conflict_field: str | None = None

    def _do_insert(
        self,
        manager: "models.Manager[Any]",
        using: str,
        fields: Sequence[models.Field[Any, Any]],
        returning_fields: Sequence[models.Field[Any, Any]] | None,
        raw: bool,
    ) -> list[tuple[Any, ...]]:
        connection = connections[using]
        model = manager.model  # the table saved (a parent's, under multi-table inheritance)
        key = (model, using, raw, tuple(map(id, fields)), tuple(map(id, returning_fields or ())))
        try:
            plan = _INSERTS[key]
        except KeyError:
            plan = _INSERTS[key] = _insert_plan(
                model, connection, fields, returning_fields, raw, self.insert_conflict_field
            )
        params = None if plan is None else _insert_params(self, plan, connection)
        if plan is None or params is None:
            return self._orm_insert(manager, using, fields, returning_fields, raw)
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            if not plan.returning:
                return []
            ops: Any = connection.ops
            row = ops.fetch_returned_insert_columns(cursor, plan.returning_params)
        if row is None and plan.skips_conflicts:
            raise self._conflict()
        values = []
        for value, (column, converters) in zip(row, plan.returning, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            values.append(value)
        return [tuple(values)]

    def _orm_insert(
        self, manager: "models.Manager[Any]", using: str, *args: Any
    ) -> list[tuple[Any, ...]]:
        """Django's own INSERT (`args`: its fields, returned fields and raw flag); a clash
        on `insert_conflict_field` held in a savepoint and raised as RowConflict."""
        orm: Any = super()
        name = self.insert_conflict_field
        done: list[tuple[Any, ...]]
        if name is None:
            done = orm._do_insert(manager, using, *args)
            return done
        try:
            with transaction.atomic(using=using):
                done = orm._do_insert(manager, using, *args)
                return done
        except IntegrityError:
            if manager.using(using).filter(**{name: getattr(self, name)}).exists():
                raise self._conflict() from None
            raise

    def _conflict(self) -> RowConflict:
        name = self.insert_conflict_field
        label = cast(models.Model, self)._meta.label
        return RowConflict(f"{label}.{name} {getattr(self, str(name))!r} is taken")


def _insert_params(
    obj: object, plan: _InsertPlan, connection: BaseDatabaseWrapper
) -> list[Any] | None:
    """The row's parameters, as SQLInsertCompiler prepares them; None for a value the
    ORM must compile (an expression: F(), a database default)."""
    instance = cast(models.Model, obj)
    params = []
    for field, pre_save in plan.fields:
        value = field.pre_save(instance, True) if pre_save else getattr(obj, field.attname)
        if hasattr(value, "resolve_expression"):
            return None
        value = field.get_db_prep_save(value, connection=connection)
        if hasattr(value, "as_sql"):
            return None
        params.append(value)
    return params + list(plan.returning_params)


def _insert_plan(
    model: type[models.Model],
    connection: BaseDatabaseWrapper,
    fields: Sequence[models.Field[Any, Any]],
    returning_fields: Sequence[models.Field[Any, Any]] | None,
    raw: bool,
    conflict_field: str | None = None,
) -> _InsertPlan | None:
    """The statement SQLInsertCompiler.as_sql() writes for one row of `fields`, or
    None where it is not that simple; with `conflict_field`, one that skips a clash on
    that column (None where the database cannot say so and return the row)."""
    returning_fields = list(returning_fields or ())
    features = connection.features
    if (
        raw
        or not fields
        or (returning_fields and not features.can_return_columns_from_insert)
        or any(hasattr(f, "get_placeholder") for f in fields)
        or (conflict_field and not (returning_fields and features.supports_update_conflicts))
    ):
        return None
    qn = connection.ops.quote_name
    meta = model._meta
    parts = [
        connection.ops.insert_statement(on_conflict=None),
        qn(meta.db_table),
        f"({', '.join(qn(_column(f)) for f in fields)})",
        f"VALUES ({', '.join(['%s'] * len(fields))})",
    ]
    if conflict_field:
        target = meta.get_field(conflict_field)
        if not isinstance(target, models.Field):
            raise TypeError(f"{conflict_field} is not a column of {meta.label}")
        parts.append(f"ON CONFLICT ({qn(_column(target))}) DO NOTHING")
    returning_params: tuple[Any, ...] = ()
    returning = []
    if returning_fields:
        ops: Any = connection.ops
        r_sql, r_params = ops.return_insert_columns(returning_fields)
        if r_sql:
            parts.append(r_sql)
        returning_params = tuple(r_params)
        for field in returning_fields:
            column = field.get_col(meta.db_table)
            converters = (
                *connection.ops.get_db_converters(column),
                *column.get_db_converters(connection),
            )
            returning.append((column, converters))
    own_pre_save = [type(f).pre_save is not models.Field.pre_save for f in fields]
    return _InsertPlan(
        sql=" ".join(parts),
        fields=tuple(zip(fields, own_pre_save, strict=True)),
        returning_params=returning_params,
        returning=tuple(returning),
        skips_conflicts=bool(conflict_field),
    )
