"""What every kind's importer shares: the run's context, the mapping table, the report,
progress, and the batch writer that makes a run idempotent.

A batch is written in one transaction together with its `ImportedObject` rows: either
both are there or neither, so a run killed at any moment is repeated from where it
stopped, and a second run finds every row mapped. A row whose fingerprint (a hash of
the source columns read) is unchanged is skipped; a changed one updates its object.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import logging
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import DataError, IntegrityError, connection, models, transaction

from ..models import ImportedObject
from .source import Row, Source

log = logging.getLogger("helpdesk.importers.osticket")

KINDS = ("config", "people", "tickets", "threads", "kb", "tasks")


class Skip(Exception):
    """This source row cannot be mapped: skipped and reported with the reason."""


class Interrupt(Exception):
    """Raised by tests after a batch to simulate a run killed mid-way."""


def fingerprint(row: Row) -> str:
    """A hash of the source row as read: its values in the order selected (a kind always
    selects the same columns, so the names add nothing but time)."""
    text = repr(tuple(row.values()))
    return hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    only: frozenset[str] = frozenset(KINDS)
    since: dt.datetime | None = None
    attachments_dir: Path | None = None
    batch_size: int = 2000
    workers: int = 1  # processes writing batches side by side (see parallel; 1: this one)
    after_batch: Callable[[str, int], None] | None = None  # tests: (kind, batch number)


# --- the report ----------------------------------------------------------------------


@dataclass
class KindCount:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


@dataclass
class Report:
    counts: dict[str, KindCount] = field(default_factory=lambda: defaultdict(KindCount))
    skips: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    skip_examples: dict[tuple[str, str], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    warnings: Counter[str] = field(default_factory=Counter)
    warning_examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    seconds: dict[str, float] = field(default_factory=dict)
    workers: set[int] = field(default_factory=set)  # processes that wrote batches (--workers)

    def skip(self, kind: str, source_id: object, reason: str) -> None:
        self.counts[kind].skipped += 1
        self.skips[kind][reason] += 1
        examples = self.skip_examples[(kind, reason)]
        if len(examples) < 5:
            examples.append(str(source_id))

    def warn(self, message: str, example: object = None) -> None:
        self.warnings[message] += 1
        if example is not None and len(self.warning_examples[message]) < 5:
            self.warning_examples[message].append(str(example))

    def merge(self, other: Report) -> None:
        """Add another part of the run's report (a worker's batch) to this one."""
        for kind, c in other.counts.items():
            mine = self.counts[kind]
            mine.created += c.created
            mine.updated += c.updated
            mine.unchanged += c.unchanged
            mine.skipped += c.skipped
        for kind, reasons in other.skips.items():
            self.skips[kind].update(reasons)
        for where, examples in other.skip_examples.items():
            mine_examples = self.skip_examples[where]
            mine_examples.extend(examples[: max(0, 5 - len(mine_examples))])
        self.warnings.update(other.warnings)
        self.workers |= other.workers
        for message, examples in other.warning_examples.items():
            mine_examples = self.warning_examples[message]
            mine_examples.extend(examples[: max(0, 5 - len(mine_examples))])

    def lines(self) -> list[str]:
        out = [
            "",
            "osTicket import report",
            "",
            f"{'kind':<22}{'new':>9}{'updated':>9}{'same':>9}{'skipped':>9}",
        ]
        for kind, c in self.counts.items():
            out.append(f"{kind:<22}{c.created:>9}{c.updated:>9}{c.unchanged:>9}{c.skipped:>9}")
        if any(self.skips.values()):
            out += ["", "Skipped:"]
            for kind, reasons in self.skips.items():
                for reason, n in reasons.most_common():
                    ids = ", ".join(self.skip_examples[(kind, reason)])
                    out.append(f"  {kind}: {n} x {reason} (e.g. {ids})")
        slow = [(name, s) for name, s in self.seconds.items() if s >= 1]
        if slow:
            out += ["", "Time: " + ", ".join(f"{name} {s:.0f} s" for name, s in slow)]
        if self.workers:
            out.append(f"Batches handled by {len(self.workers)} worker processes.")
        if self.warnings:
            out += ["", "Warnings:"]
            for message, n in self.warnings.most_common():
                examples = self.warning_examples.get(message)
                tail = f" (e.g. {', '.join(examples)})" if examples else ""
                out.append(f"  {n} x {message}{tail}")
        return out


# --- progress ------------------------------------------------------------------------


class Progress:
    """A rich progress bar per kind on a terminal; plain log lines otherwise."""

    def __init__(self, stream: Any = None, *, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.interactive = tty if interactive is None else interactive
        self._progress: Any = None

    @contextlib.contextmanager
    def task(self, kind: str, total: int | None) -> Iterator[Callable[[int], None]]:
        if self.interactive:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            with RichProgress(
                TextColumn("{task.description:<16}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            ) as bar:
                task_id = bar.add_task(kind, total=total)
                yield lambda n: bar.advance(task_id, n)
            return
        done = [0]
        start = dt.datetime.now(dt.UTC)

        def advance(n: int) -> None:
            done[0] += n
            seconds = max((dt.datetime.now(dt.UTC) - start).total_seconds(), 1e-6)
            of = f"/{total}" if total is not None else ""
            print(f"{kind}: {done[0]}{of} ({done[0] / seconds:.0f}/s)", file=self.stream)

        yield advance
        print(f"{kind}: done, {done[0]} rows", file=self.stream)


# --- the mapping table ---------------------------------------------------------------


@dataclass(frozen=True)
class Mapped:
    object_id: int
    fingerprint: str


class Mapper:
    """osTicket kind + id -> our object id, read per batch (or whole, for small kinds)."""

    def __init__(self) -> None:
        self._whole: dict[str, dict[str, Mapped]] = {}
        self._types: dict[type[models.Model], int] = {}

    def content_type(self, model: type[models.Model]) -> int:
        if model not in self._types:
            self._types[model] = ContentType.objects.get_for_model(model).pk
        return self._types[model]

    def load(self, kind: str) -> dict[str, Mapped]:
        """Every mapping of a small kind, kept for the run (configuration, agents)."""
        if kind not in self._whole:
            rows = ImportedObject.objects.filter(source="osticket", kind=kind)
            self._whole[kind] = {
                sid: Mapped(oid, fp)
                for sid, oid, fp in rows.values_list("source_id", "object_id", "fingerprint")
            }
        return self._whole[kind]

    def get(self, kind: str, ids: Iterable[object]) -> dict[str, Mapped]:
        keys = {str(i) for i in ids if i not in (None, 0, "0", "")}
        if kind in self._whole:
            whole = self._whole[kind]
            return {k: whole[k] for k in keys if k in whole}
        if not keys:
            return {}
        out: dict[str, Mapped] = {}
        rows = ImportedObject.objects.filter(source="osticket", kind=kind)
        numbers = [int(k) for k in keys if k.isdigit()]
        if len(numbers) == len(keys) and max(numbers) - min(numbers) < 4 * len(numbers) + 100:
            # a dense run of ids (a batch read in id order): one range scan
            found = rows.filter(source_number__gte=min(numbers), source_number__lte=max(numbers))
            for sid, oid, fp in found.values_list("source_id", "object_id", "fingerprint"):
                if sid in keys:
                    out[sid] = Mapped(oid, fp)
            return out
        key_list = sorted(keys)
        for start in range(0, len(key_list), 5000):
            part = rows.filter(source_id__in=key_list[start : start + 5000])
            for sid, oid, fp in part.values_list("source_id", "object_id", "fingerprint"):
                out[sid] = Mapped(oid, fp)
        return out

    def ids(self, kind: str, ids: Iterable[object]) -> dict[int, int]:
        """{osTicket id: our id} of those mapped."""
        return {int(k): m.object_id for k, m in self.get(kind, ids).items() if k.isdigit()}

    def one(self, kind: str, source_id: object) -> int | None:
        found = self.get(kind, [source_id]).get(str(source_id))
        return found.object_id if found else None

    def record(
        self,
        kind: str,
        model: type[models.Model],
        rows: Sequence[tuple[object, int, str]],
        *,
        shared: bool = False,
    ) -> None:
        """Write (source id, object id, fingerprint) rows: new ones inserted, known ones
        given their new object and fingerprint. Call inside the batch's transaction.
        `shared`: rows that another worker may be writing at the same moment (a file
        attached to entries of two batches); the first one written stands."""
        if not rows:
            return
        ctype = self.content_type(model)
        known = self.get(kind, [r[0] for r in rows])
        now = dt.datetime.now(dt.UTC)
        fresh = [
            ("osticket", kind, str(sid), _number(str(sid)), ctype, oid, fp, now)
            for sid, oid, fp in rows
            if str(sid) not in known
        ]
        if shared:
            ImportedObject.objects.bulk_create(
                [ImportedObject(**dict(zip(MAPPING_COLUMNS, r, strict=True))) for r in fresh],
                ignore_conflicts=True,
            )
        else:
            insert_rows(ImportedObject, MAPPING_COLUMNS, fresh, returning=False)
        changed = [(str(sid), oid, fp) for sid, oid, fp in rows if str(sid) in known]
        if changed:
            objs = {
                o.source_id: o
                for o in ImportedObject.objects.filter(
                    source="osticket", kind=kind, source_id__in=[c[0] for c in changed]
                )
            }
            for sid, oid, fp in changed:
                objs[sid].object_id, objs[sid].fingerprint = oid, fp
            ImportedObject.objects.bulk_update(list(objs.values()), ["object_id", "fingerprint"])
        cache = self._whole.get(kind)
        if cache is not None:
            for sid, oid, fp in rows:
                cache[str(sid)] = Mapped(oid, fp)


MAPPING_COLUMNS = (
    "source",
    "kind",
    "source_id",
    "source_number",
    "content_type_id",
    "object_id",
    "fingerprint",
    "imported_at",
)


def _number(source_id: str) -> int | None:
    return int(source_id) if source_id.isdigit() and len(source_id) < 18 else None


# --- times ---------------------------------------------------------------------------


@contextlib.contextmanager
def keep_times(*model_list: type[models.Model]) -> Iterator[None]:
    """Let bulk writes keep the source's times: auto_now and auto_now_add are off for
    these models' fields while the import runs (a management command, one thread)."""
    saved = []
    for model in model_list:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, now_add in saved:
            f.auto_now, f.auto_now_add = now, now_add


# --- the run's context ---------------------------------------------------------------


@dataclass
class Context:
    source: Source
    options: Options
    report: Report
    maps: Mapper
    progress: Progress
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    batches: Counter[str] = field(default_factory=Counter)
    cache: dict[str, Any] = field(default_factory=dict)

    def when(self, value: Any) -> dt.datetime | None:
        return self.source.when(value)

    def since_clause(self, column: str) -> tuple[str, list[Any]]:
        """A WHERE part limiting a delta run (--since) to rows changed since then."""
        since = self.options.since
        if since is None:
            return "", []
        local = since.astimezone(self.source.tz).replace(tzinfo=None)
        return f"`{column}` >= %s", [local]

    def each_batch(
        self,
        label: str,
        table: str,
        columns: Sequence[str],
        handle: Callable[..., None],
        *,
        kind: str,
        key: str = "id",
        size: int | None = None,
        since: str = "updated",
        extra: tuple[Any, ...] = (),
    ) -> None:
        """Every row of `table` changed since --since (by its `since` column), in keyset
        batches handed to `handle(ctx, rows, *extra)` (a module-level function: with
        --workers it runs in the worker processes, see `parallel`), with the progress
        bar `label` and the after-batch hook (`kind`): how each big kind walks the
        source."""
        from . import parallel

        where, params = self.since_clause(since)
        size = size or self.options.batch_size
        total = self.source.count(table, where=where, params=params)
        with self.progress.task(label, total) as advance:
            if parallel.usable(self):

                def done(rows: int) -> None:
                    advance(rows)
                    self.batch_done(kind)

                parallel.each_batch(
                    self,
                    table,
                    columns,
                    handle,
                    key=key,
                    where=where,
                    params=params,
                    size=size,
                    extra=extra,
                    done=done,
                )
                return
            for batch in self.source.batches(
                table, columns, key=key, where=where, params=params, size=size
            ):
                handle(self, batch, *extra)
                advance(len(batch))
                self.batch_done(kind)

    def batch_done(self, kind: str) -> None:
        self.batches[kind] += 1
        hook = self.options.after_batch
        if hook is not None:
            hook(kind, self.batches[kind])


class Written(list):  # type: ignore[type-arg]
    """The (row, object) pairs a batch wrote: those created first, then those updated.
    `existing()` are the updated ones, the only ones with dependants to replace."""

    def __init__(self, created: list[tuple[Row, Any]], updated: list[tuple[Row, Any]]) -> None:
        super().__init__(created + updated)
        self.created = len(created)

    def existing(self) -> list[tuple[Row, Any]]:
        return self[self.created :]


def upsert(
    ctx: Context,
    kind: str,
    model: type[models.Model],
    rows: Iterable[Row],
    build: Callable[[Row], dict[str, Any]],
    **options: Any,
) -> list[tuple[Row, models.Model]]:
    """`_upsert` for a batch; when the database refuses it (a duplicate, a value too
    long), the batch is split in halves until the row it refuses is found, skipped and
    reported with the database's reason, and the rest is written."""
    rows = list(rows)
    saved = copy.deepcopy(ctx.report)
    try:
        return _upsert(ctx, kind, model, rows, build, **options)
    except (IntegrityError, DataError) as exc:
        ctx.report = saved  # the failed attempt's counts and warnings do not stand
        if len(rows) == 1:
            reason = (
                str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            )
            ctx.report.skip(
                kind, rows[0][options.get("key", "id")], f"refused by the database: {reason}"
            )
            return []
        half = len(rows) // 2
        return upsert(ctx, kind, model, rows[:half], build, **options) + upsert(
            ctx, kind, model, rows[half:], build, **options
        )


def _upsert(
    ctx: Context,
    kind: str,
    model: type[models.Model],
    rows: Iterable[Row],
    build: Callable[[Row], dict[str, Any]],
    *,
    key: str = "id",
    update_fields: Sequence[str] | None = None,
    adopt: Callable[[dict[str, Any]], models.Model | None] | None = None,
    after: Callable[[Written], None] | None = None,
    before_create: Callable[[list[tuple[Row, models.Model]]], None] | None = None,
    prepare: Callable[[list[Row]], None] | None = None,
    fast: bool = False,
) -> list[tuple[Row, models.Model]]:
    """Create or update our objects for a batch of source rows, with their mappings, in
    one transaction. `prepare` sees the rows new or changed since the last run, before
    they are built (the costly part of building, such as sanitising bodies, done for
    them only). `build` turns a row into field values or raises Skip; `adopt`
    finds an object of ours to take over when a row is not mapped yet (a status of the
    same name); `after` writes what depends on the objects (members, rules), inside the
    same transaction. Returns the (row, object) pairs written.

    `fast` (the big kinds: tickets, entries, events): new rows are inserted from their
    values (`insert_rows`) without building model instances; `before_create` and
    `after` then see plain objects carrying the values and the new `pk`."""
    rows = list(rows)
    known = ctx.maps.get(kind, [r[key] for r in rows])
    report = ctx.report.counts[kind]
    new: list[tuple[Row, models.Model, str]] = []
    changed: list[tuple[Row, models.Model, str]] = []
    groups: dict[tuple[str, ...], list[models.Model]] = defaultdict(list)
    todo: list[tuple[Row, str, str, Mapped | None]] = []
    for row in rows:
        sid = str(row[key])
        fp = fingerprint(row)
        mapped = known.get(sid)
        if mapped is not None and mapped.fingerprint == fp:
            report.unchanged += 1
        else:
            todo.append((row, sid, fp, mapped))
    if prepare is not None and todo:
        prepare([row for row, _, _, _ in todo])
    for row, sid, fp, mapped in todo:
        try:
            values = build(row)
        except Skip as exc:
            ctx.report.skip(kind, sid, str(exc))
            continue
        if fast and mapped is None:
            new.append((row, SimpleNamespace(**values), fp))  # type: ignore[arg-type]
            continue
        fields = tuple(update_fields or sorted(_attnames(model, values)))
        if mapped is not None:
            obj = model(pk=mapped.object_id, **values)
            changed.append((row, obj, fp))
            groups[fields].append(obj)
            continue
        existing = adopt(values) if adopt is not None else None
        if existing is not None:
            for name, value in values.items():
                setattr(existing, name, value)
            changed.append((row, existing, fp))
            groups[fields].append(existing)
        else:
            new.append((row, model(**values), fp))
    with transaction.atomic():
        if before_create is not None and new:
            before_create([(r, o) for r, o, _ in new])
        if fast:
            _insert_new(model, [o for _, o, _ in new])
        else:
            model._default_manager.bulk_create([o for _, o, _ in new], batch_size=1000)
        for fields, objs in groups.items():
            model._default_manager.bulk_update(objs, list(fields), batch_size=500)
        written = Written([(r, o) for r, o, _ in new], [(r, o) for r, o, _ in changed])
        if after is not None and written:
            after(written)
        ctx.maps.record(
            kind,
            model,
            [(r[key], o.pk, fp) for r, o, fp in new] + [(r[key], o.pk, fp) for r, o, fp in changed],
        )
    report.created += len(new)
    report.updated += len(changed)
    return written


def _insert_new(model: type[models.Model], objs: list[Any]) -> None:
    if not objs:
        return
    given = vars(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    missing = object()
    plan = [
        (f.attname if f.attname in given else f.name if f.name in given else None, f.get_default())
        for f in fields
    ]
    rows = [
        tuple(vars(o).get(key, missing) if key else default for key, default in plan) for o in objs
    ]
    ids = insert_rows(model, [f.attname for f in fields], rows)
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = obj.id = pk


def insert_rows(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = True,
    size: int = 1000,
) -> list[int]:
    """Multi-row INSERTs of `names` (fields or their attnames) without model instances:
    values are prepared by their fields only where the database needs it (times, JSON).
    Returns the new primary keys in row order (PostgreSQL and SQLite 3.35+ RETURNING)."""
    if not rows:
        return []
    ops = connection.ops
    fields = []
    for name in names:
        try:
            fields.append(model._meta.get_field(name))
        except FieldDoesNotExist:
            fields.append(model._meta.get_field(name.removesuffix("_id")))
    preps = [
        (i, f)
        for i, f in enumerate(fields)
        if isinstance(f, models.DateTimeField | models.JSONField | models.DateField)
    ]
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    if connection.vendor == "postgresql":
        return _insert_copy(model, fields, rows, preps, columns, returning)
    tail = f" RETURNING {ops.quote_name(model._meta.pk.column)}" if returning else ""
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for chunk in chunks(rows, size):
            params: list[Any] = []
            for row in chunk:
                values = list(row)
                for i, f in preps:
                    values[i] = f.get_db_prep_save(values[i], connection)
                params.extend(values)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))}{tail}",
                params,
            )
            if returning:
                ids.extend(r[0] for r in cursor.fetchall())
    return ids


def _insert_copy(
    model: type[models.Model],
    fields: list[Any],
    rows: Sequence[Sequence[Any]],
    preps: list[tuple[int, Any]],
    columns: str,
    returning: bool,
) -> list[int]:
    """PostgreSQL: the rows through COPY (formatted by psycopg's C code, no SQL to parse
    per row). New primary keys are taken from the table's sequence first, in one query,
    and copied with the rows."""
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    pk = model._meta.pk
    json_columns = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    ids: list[int] = []
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if returning:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [model._meta.db_table, pk.column, len(rows)],
            )
            ids = [r[0] for r in cursor.fetchall()]
            columns = f"{ops.quote_name(pk.column)}, {columns}"
        # aware datetimes go as they are (their prep is a no-op here, at a cost per value)
        dates = [
            (i, f)
            for i, f in preps
            if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField)
        ]
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for n, row in enumerate(rows):
                values = list(row)
                for i, f in dates:
                    values[i] = f.get_db_prep_save(values[i], connection)
                for i in json_columns:
                    values[i] = None if values[i] is None else json.dumps(values[i])
                if returning:
                    values.insert(0, ids[n])
                copy.write_row(values)
    return ids


def _attnames(model: type[models.Model], values: dict[str, Any]) -> list[str]:
    names = []
    for name in values:
        try:
            f = model._meta.get_field(name)
        except FieldDoesNotExist:
            f = model._meta.get_field(name.removesuffix("_id"))
        names.append(f.name)
    return names


def update_changed(model: type[models.Model], objs: list[Any], names: Sequence[str]) -> int:
    """bulk_update of only the rows whose `names` differ from what is stored: a later run
    with nothing new writes nothing (and changes no configuration version)."""
    if not objs:
        return 0
    attnames = [model._meta.get_field(n).attname for n in names]
    stored = {
        row[0]: tuple(row[1:])
        for row in model._default_manager.filter(pk__in=[o.pk for o in objs]).values_list(
            "pk", *attnames
        )
    }
    dirty = [
        o
        for o in objs
        if stored.get(o.pk) != tuple(getattr(o, a) for a in attnames) and o.pk in stored
    ]
    if dirty:
        model._default_manager.bulk_update(dirty, list(names), batch_size=500)
    return len(dirty)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
