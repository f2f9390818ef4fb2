"""The one place job runs are recorded: `helpdesk.cron.run_job` runs every job inside
`recorded()`, so a run is recorded whether Celery beat, `run_cron` (once or `--loop`)
or the osTicket cron endpoint started it."""

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import JobRun, JobState, Result

log = logging.getLogger(__name__)

ERROR_CHARS = 4000


@dataclass
class Run:
    """What the job hands back to its record (its count)."""

    count: int | None = None


def interval(job: str) -> dt.timedelta:
    """How often the job is meant to run (settings.HELPDESK_CRON, as the runner reads it)."""
    return dt.timedelta(seconds=max(float(settings.HELPDESK_CRON.get(job, 300)), 1.0))


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_CHARS]


@contextmanager
def recorded(job: str, *, via: str) -> Iterator[Run]:
    """Record one run of `job`: a `running` row at the start, its result, duration and
    error at the end (the exception is raised again). Recording is never a reason for a
    job not to run: when the row cannot be written (the database is down), the job runs
    unrecorded and the runner's log says so."""
    started = timezone.now()
    clock = time.monotonic()
    run = Run()
    try:
        row = JobRun.objects.create(job=job, via=via, started_at=started)
    except Exception:
        log.exception("could not record the start of cron job %s; running it anyway", job)
        yield run
        return
    try:
        yield run
    except BaseException as exc:  # a soft time limit, an interrupt: recorded too
        _finish(row, clock, Result.FAILED, run, describe(exc))
        raise
    _finish(row, clock, Result.OK, run, "")


def _finish(row: JobRun, clock: float, result: str, run: Run, error: str) -> None:
    now = timezone.now()
    duration = int((time.monotonic() - clock) * 1000)
    try:
        with transaction.atomic():
            JobRun.objects.filter(pk=row.pk).update(
                finished_at=now, duration_ms=duration, result=result, count=run.count, error=error
            )
            _remember(row, now, duration, result, error)
    except Exception:  # the database went away: the job's own outcome still stands
        log.exception("could not record the end of cron job %s", row.job)


def _remember(row: JobRun, now: dt.datetime, duration: int, result: str, error: str) -> None:
    state, _ = JobState.objects.select_for_update().get_or_create(job=row.job)
    state.last_started_at = row.started_at
    state.last_finished_at = now
    state.last_duration_ms = duration
    state.last_result = result
    state.last_error = error
    if result == Result.OK:
        state.last_ok_at = now
        state.failing_since = None
    elif state.failing_since is None:
        state.failing_since = row.started_at
    state.save()
