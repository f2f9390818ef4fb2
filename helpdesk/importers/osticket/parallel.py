"""The big kinds' batches in parallel processes (`--workers N`, PostgreSQL).

Users, tickets, tasks, thread entries and events are read in keyset batches, and each
batch is written in its own transaction with its mapping rows, needing only what
earlier kinds mapped: batches of one kind are independent. With workers, the main
process walks the table's keys (one index probe per batch: `LIMIT 1 OFFSET size-1`)
and hands each `(after, upto]` key range to a worker, which reads those rows on its own
connection to osTicket, runs the kind's batch function on its own connection to our
database, and sends back the rows it handled and its part of the report. The main
process merges the reports and moves the progress bar as batches finish, a few batches
ahead of the slowest, so memory stays bounded.

Workers are spawned (a forked child would share the parent's sockets) and set up
Django once, on the parent's database settings (a test database included). They are
not used on SQLite (one writer at a time), in a dry run (its one transaction cannot be
shared) or inside an open transaction (the workers could not see its rows).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection

if TYPE_CHECKING:  # the workers import this module before Django is set up: no models
    from .base import Context, Options, Report
    from .source import Row, SourceAddress

_worker: dict[str, Any] = {}


def pool(options: Options) -> ProcessPoolExecutor | None:
    """The run's worker processes, or None when the run has one process."""
    if options.workers < 2:
        return None
    return ProcessPoolExecutor(
        options.workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_setup,
        initargs=(os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),),
    )


def usable(ctx: Context) -> bool:
    """May this run hand batches to the workers?"""
    return (
        ctx.cache.get("pool") is not None
        and connection.vendor == "postgresql"
        and not ctx.options.dry_run
        and ctx.options.after_batch is None
        and not connection.in_atomic_block
    )


def _setup(settings_module: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()


def each_batch(
    ctx: Context,
    table: str,
    columns: Sequence[str],
    handle: Callable[..., None],
    *,
    key: str,
    where: str,
    params: Sequence[Any],
    size: int,
    extra: tuple[Any, ...],
    done: Callable[[int], None],
) -> None:
    """Every batch of `table` through the workers; `done(rows)` after each one."""
    executor: ProcessPoolExecutor = ctx.cache["pool"]
    from django.conf import settings

    job = Job(
        database=dict(connection.settings_dict),
        media_root=str(settings.MEDIA_ROOT),
        address=ctx.source.address,
        prefix=ctx.source.prefix,
        tz=ctx.source.tz,
        options=ctx.options,
        now=ctx.now,
    )
    select = list(dict.fromkeys([key, *columns]))
    ctx.source.require(table, select)
    pending: deque[Future[tuple[int, Report, int]]] = deque()
    ahead = 2 * ctx.options.workers  # batches in flight: each worker has the next one

    def collect(future: Future[tuple[int, Report, int]]) -> None:
        rows, report, legacy = future.result()
        ctx.report.merge(report)
        ctx.source.legacy_text[0] += legacy
        done(rows)

    try:
        for after, upto in ctx.source.ranges(table, key, where=where, params=params, size=size):
            pending.append(
                executor.submit(
                    run_range, job, handle, table, select, key, where, params, after, upto, extra
                )
            )
            while len(pending) >= ahead:
                collect(pending.popleft())
        while pending:
            collect(pending.popleft())
    finally:
        for future in pending:
            future.cancel()


@dataclass(frozen=True)
class Job:
    """What a worker needs to know of the run (sent with every batch; small): the
    parent's database and media settings (a test's own included), the osTicket session's
    address, prefix and zone, the options and the run's time."""

    database: dict[str, Any]
    media_root: str
    address: SourceAddress
    prefix: str
    tz: dt.tzinfo
    options: Options
    now: dt.datetime


def run_range(
    job: Job,
    handle: Callable[..., None],
    table: str,
    select: list[str],
    key: str,
    where: str,
    params: Sequence[Any],
    after: Any,
    upto: Any,
    extra: tuple[Any, ...],
) -> tuple[int, Report, int]:
    """In a worker: one batch, `after < key <= upto`. Returns (rows read, the report of
    this batch, values read as legacy text)."""
    from .base import Report

    ctx = _context(job)
    ctx.report = Report()
    ctx.report.workers.add(os.getpid())
    legacy = ctx.source.legacy_text[0]
    condition = f" AND ({where})" if where else ""
    rows: list[Row] = ctx.source.query(
        f"SELECT {', '.join(f'`{c}`' for c in select)} FROM {ctx.source.table(table)}"
        f" WHERE `{key}` > %s AND `{key}` <= %s{condition} ORDER BY `{key}`",
        [after, upto, *params],
    )
    if rows:
        from .base import keep_times
        from .run import TIMED

        with keep_times(*TIMED):
            handle(ctx, rows, *extra)
    return len(rows), ctx.report, ctx.source.legacy_text[0] - legacy


def _context(job: Job) -> Context:
    """The worker's context, made at its first batch: its own osTicket session and
    mapping cache, on the parent's database settings."""
    ctx: Context | None = _worker.get("ctx")
    if ctx is not None:
        return ctx
    from django.conf import settings
    from django.db import connections

    from .base import Context, Mapper, Progress, Report
    from .source import Source

    connections["default"].settings_dict.update(job.database)
    settings.MEDIA_ROOT = job.media_root  # attachments land where the parent's would
    source = Source(job.address, job.prefix)
    source.open()
    source.tz = job.tz
    ctx = Context(
        source=source,
        options=job.options,
        report=Report(),
        maps=Mapper(),
        progress=Progress(open(os.devnull, "w"), interactive=False),  # noqa: SIM115
        now=job.now,
    )
    _worker["ctx"] = ctx
    return ctx
