"""The outbox: after-commit work that an outage cannot lose and no request waits for.

- `enqueue(task, *args)` inserts one `OutboxTask` row in the current transaction: the
  work commits or rolls back with the change that caused it.
- On commit the row is offered to the Celery broker (`run_outbox_task`), only when
  there is one. A broker that does not answer costs one failed connection, then it is
  left alone for a few seconds; the row stays pending. In a web request the offer is
  made once the response has been sent (`AfterResponseMiddleware`): the caller does not
  wait for the broker's round trip.
- Without a broker (`make run` without Redis), nothing runs in the request: the
  `outbox_drain` periodic job (`run_cron --loop`, or Celery beat) runs the rows every few
  seconds, and with a broker it offers again what the broker did not take.
- Whoever runs a row claims it first with one conditional UPDATE (pending -> running,
  with a lease), so a row offered twice (on commit and by the periodic job) runs once.
  A task that fails is retried with backoff; one whose worker died is taken again when
  its lease ends. A done row is deleted; a row that failed too often is kept as `dead`
  for the admin (retry from the Django admin).

Tasks run through the outbox are Celery tasks (thin, idempotent, taking ids), called
in-process by whoever claimed the row; their own retry policy is `RetryLater`.
"""

import contextlib
import contextvars
import datetime as dt
import json
import logging
import signal
import threading
import time
from functools import partial

from celery import Task, current_app
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from kombu import pools

from accounts import bus
from accounts.actors import is_agent
from accounts.crypto import SecretUnreadable
from accounts.errors import PermissionRefused
from config.broker import producer_pool
from helpdesk.ops import instruments

from .models import OutboxTask

log = logging.getLogger(__name__)

# How long a claimed row belongs to its runner (OUTBOX_LEASE_SECONDS, ten minutes by
# default); run_outbox_task's time limit is shorter, so a lease ends only when the
# runner died.
LEASE = dt.timedelta(seconds=settings.HELPDESK_OUTBOX["LEASE_SECONDS"])
# The time limit of a row the periodic job runs itself, when its task has none.
DEFAULT_TIME_LIMIT = 300
PENDING, RUNNING, DEAD = OutboxTask.State.values


class RetryLater(Exception):
    """Raised by a task to be run again in `seconds` (the task's own retry policy)."""

    def __init__(self, reason: str, *, seconds: int):
        super().__init__(reason)
        self.seconds = seconds


def conf(name: str):
    return settings.HELPDESK_OUTBOX[name]


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, ... doubling up to one hour between tries."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


# --- how work leaves the request --------------------------------------------------------


def dispatch_mode() -> str:
    """ "broker": a Celery broker takes rows on commit; "eager": Celery is told to run
    tasks in-process (the tests); "none": no broker, the periodic job runs them."""
    conf_ = current_app.conf
    if conf_.task_always_eager:
        return "eager"
    url = conf_.broker_url or ""
    return "none" if not url or url.startswith("memory://") else "broker"


class _Breaker:
    """After a failed offer, the broker is left alone for a few seconds (per process and
    broker URL): a dead Redis costs a request one refused connection, not one per row."""

    def __init__(self):
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def closed(self, url: str) -> bool:
        return time.monotonic() >= self._until.get(url, 0.0)

    def trip(self, url: str, exc: Exception) -> None:
        with self._lock:
            first = self.closed(url)
            self._until[url] = time.monotonic() + conf("BROKER_RETRY_SECONDS")
        if first:
            log.warning("broker unreachable (%s); the outbox job will run the work", exc)

    def reset(self) -> None:
        self._until.clear()


breaker = _Breaker()


def producers(url: str | None = None) -> pools.ProducerPool:
    """The outbox's publishing connections: connect and socket timeouts of
    REDIS_TIMEOUT_SECONDS, so a broker that hangs (up but silent) costs a request that
    long once, then the breaker leaves it alone. The worker's own connections keep the
    broker settings' longer socket timeout, which its blocking reads need. Built once
    per process, broker URL and timeout (config.broker), not per offer; `url`: the
    broker URL when the caller has read it already."""
    return producer_pool(current_app, timeout=settings.REDIS_TIMEOUT_SECONDS, url=url)


def offer(pk: int, mode: str | None = None) -> bool:
    """Hand one row to Celery. False when the broker did not take it. `mode`: the
    dispatch mode its row was written under (read again when not given)."""
    from .tasks import run_outbox_task

    if (mode or dispatch_mode()) != "broker":  # eager (tests): run it now, failures propagate
        run_outbox_task.apply_async((pk,), retry=False)
        return True
    url = current_app.conf.broker_url or ""
    if not breaker.closed(url):
        return False
    try:
        with producers(url).acquire(block=True) as producer:
            # the message's argsrepr and kwargsrepr as Celery's saferepr writes them for
            # one integer (shown by Flower and the worker's log), without its formatter
            run_outbox_task.apply_async(
                (pk,), retry=False, producer=producer, argsrepr=f"({pk},)", kwargsrepr="{}"
            )
    except Exception as exc:  # broker down, refused, timed out: the row stays pending
        breaker.trip(url, exc)
        return False
    return True


# The offers of the request being served, made once its response is sent; None outside
# a request (a Celery task, a command, a test calling a service): offered on commit.
_after_response: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "outbox_after_response", default=None
)


class AfterResponseMiddleware:
    """Rows committed during a request are offered to the broker once its response has
    been sent (when the WSGI server closes it), not before: a ticket create answers
    without the broker's round trip. The rows are committed already, so a worker that
    dies in between loses nothing: the periodic job offers them again (`reoffer_at`).
    A streamed response (a download) is not waited for: its rows are offered at once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pending: list[int] = []
        token = _after_response.set(pending)
        try:
            response = self.get_response(request)
        except BaseException:
            _offer_after_response(pending)  # logged, never hiding the request's own error
            raise
        finally:
            _after_response.reset(token)
        if pending:
            if response.streaming:
                _offer_after_response(pending)
            else:  # Django runs these in response.close(), which the WSGI server calls
                response._resource_closers.append(partial(_offer_after_response, pending))
        return response


def _offer_after_response(ids: list[int]) -> None:
    """Offer without raising: Django's response.close() silences its closers' errors,
    so this logs them (the rows stay pending and the periodic job offers them)."""
    try:
        _offer_now(ids)
    except Exception:
        log.exception("outbox: offering rows %s after the response failed", ids)


def _offer_on_commit(ids: list[int], mode: str) -> None:
    pending = _after_response.get()
    if pending is not None and mode == "broker":  # eager (tests) runs in the request
        pending.extend(ids)
        return
    _offer_now(ids, mode)


def _offer_now(ids: list[int], mode: str = "broker") -> None:
    if not ids:
        return
    refused = [pk for pk in ids if not offer(pk, mode)]
    if refused:  # offer again at the next run of the periodic job, not a minute later
        OutboxTask.objects.filter(pk__in=refused, state=PENDING).update(offered_at=None)


def enqueue(task: Task, *args, sealed: bool = False, **kwargs) -> OutboxTask:
    """Write `task(*args, **kwargs)` to the outbox in the current transaction. Arguments
    are JSON (ids, strings, small dicts). Cheap: one INSERT, no input/output.

    `sealed=True` for arguments that must not be stored readable (a rendered mail with
    a live sign-in link, a password hash): they are kept encrypted (accounts.crypto,
    like the other stored secrets), shown nowhere (the admin lists an empty `args`) and
    decrypted only to run the task. A task cannot take a keyword argument `sealed`."""
    return enqueue_many(task, [(args, kwargs)], sealed=sealed)[0]


def _row(task: Task, args, kwargs, *, sealed: bool, now, mode: str) -> OutboxTask:
    call = {"args": list(args), "kwargs": dict(kwargs)}
    return OutboxTask(
        task=task.name,
        args=[] if sealed else call["args"],
        kwargs={} if sealed else call["kwargs"],
        sealed=json.dumps(call) if sealed else "",
        created_at=now,
        next_attempt_at=now,
        offered_at=now if mode == "broker" else None,
        reoffer_at=now + reoffer_delay(dt.timedelta(0)) if mode == "broker" else None,
    )


def enqueue_many(
    task: Task, calls: list[tuple[tuple, dict]], *, sealed: bool = False
) -> list[OutboxTask]:
    now, mode = timezone.now(), dispatch_mode()
    rows = [_row(task, args, kwargs, sealed=sealed, now=now, mode=mode) for args, kwargs in calls]
    if len(rows) == 1:  # most often: saved, its INSERT written once per process
        rows[0].save(force_insert=True)
    else:
        rows = OutboxTask.objects.bulk_create(rows)
    if rows:
        instruments.OUTBOX_QUEUED.labels(task=task.name).inc(len(rows))
    if mode != "none" and rows:
        ids = [row.pk for row in rows]
        bus.on_commit(partial(_offer_on_commit, ids, mode))  # offered as they were written
    return rows


# --- running one row ----------------------------------------------------------------------


def _task(name: str) -> Task:
    found = import_string(name)
    if not isinstance(found, Task):
        raise TypeError(f"{name} is not a Celery task")
    return found


class TimeLimitExceeded(Exception):
    """A row run by the periodic job itself took longer than its task's time limit."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Ends the block with TimeLimitExceeded after `seconds`, as Celery's soft time limit
    does in a worker: with SIGALRM, so only in a main thread where nothing else uses it
    (`run_cron --loop`, a prefork worker's process); elsewhere the block runs unbounded."""
    usable = (
        seconds > 0
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN)
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def expired(signum, frame):
        raise TimeLimitExceeded(f"ran longer than its time limit ({seconds:g} s)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _limit_of(task: Task) -> float:
    """The task's own (soft) time limit, at most the outbox task's: a row runs no longer
    in the periodic job than in a worker, and never past its lease."""
    from .tasks import run_outbox_task

    own = task.soft_time_limit or task.time_limit or DEFAULT_TIME_LIMIT
    return float(min(own, run_outbox_task.soft_time_limit))


def outbox_run(pk: int, *, now: dt.datetime | None = None, bounded=False) -> str | None:
    """Claim one due row and run its task. Returns "done", "retry" or "dead", or None
    when the row was not there to claim (done already, taken by another, not due).
    `bounded`: end the task at its own (soft) time limit, as a worker would (the
    periodic job running rows in its own process; time_limit above)."""
    now = now or timezone.now()
    claimed = OutboxTask.objects.filter(pk=pk, state=PENDING, next_attempt_at__lte=now).update(
        state=RUNNING, taken_until=timezone.now() + LEASE, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    try:
        row = OutboxTask.objects.get(pk=pk)
    except SecretUnreadable as exc:  # sealed under a key that is gone: retried, then dead
        row = OutboxTask.objects.defer("sealed").get(pk=pk)
        return _reschedule(row, f"SecretUnreadable: {exc}", backoff(row.attempts))
    try:
        task = _task(row.task)
        args, kwargs = _arguments(row)
        with time_limit(_limit_of(task) if bounded else 0):
            task(*args, **kwargs)
    except RetryLater as exc:
        return _reschedule(row, str(exc), dt.timedelta(seconds=exc.seconds))
    except Exception as exc:
        log.warning("outbox task %s %s failed (attempt %s)", row.task, row.args, row.attempts)
        log.debug("outbox task %s failed", row.pk, exc_info=True)
        return _reschedule(row, f"{type(exc).__name__}: {exc}", backoff(row.attempts))
    OutboxTask.objects.filter(pk=pk).delete()
    return "done"


def _arguments(row: OutboxTask) -> tuple[list, dict]:
    if not row.sealed:
        return row.args, row.kwargs
    call = json.loads(row.sealed)
    return call["args"], call["kwargs"]


def _reschedule(row: OutboxTask, error: str, delay: dt.timedelta) -> str:
    dead = row.attempts >= conf("MAX_ATTEMPTS")
    instruments.OUTBOX_FAILED.labels(task=row.task, outcome="dead" if dead else "retry").inc()
    if dead:
        log.error("outbox task %s %s given up: %s", row.task, row.args, error)
    OutboxTask.objects.filter(pk=row.pk, state=RUNNING).update(
        state=DEAD if dead else PENDING,
        next_attempt_at=timezone.now() + delay,
        taken_until=None,
        offered_at=None,
        last_error=error[:4000],
    )
    return "dead" if dead else "retry"


# --- the periodic job ---------------------------------------------------------------------


def _recover(now: dt.datetime) -> None:
    """Rows whose runner died (lease over) are pending again, or dead after too many."""
    expired = OutboxTask.objects.filter(state=RUNNING, taken_until__lt=now)
    expired.filter(attempts__gte=conf("MAX_ATTEMPTS")).update(
        state=DEAD, taken_until=None, last_error="The worker running it stopped."
    )
    expired.update(state=PENDING, taken_until=None, offered_at=None, next_attempt_at=now)


def _due(now: dt.datetime):
    return OutboxTask.objects.filter(state=PENDING, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "id"
    )


def outbox_drain(*, now: dt.datetime | None = None) -> int:
    """The `outbox_drain` job: with a broker, offer what it has not taken (never offered,
    refused, or offered a while ago and perhaps lost with a restarted broker: again after
    a delay that doubles, reoffer_delay) and run here what it refuses; without one, run
    every due row here. Returns how many rows it handled."""
    now = now or timezone.now()
    _recover(now)
    if dispatch_mode() == "broker":
        return _offer_due(now)
    handled, budget = 0, conf("BATCH")
    while handled < budget:
        ids = list(_due(now).values_list("pk", flat=True)[: budget - handled])
        if not ids:
            break
        for pk in ids:
            outbox_run(pk, now=now, bounded=True)
        handled += len(ids)
    return handled


def reoffer_delay(waited: dt.timedelta) -> dt.timedelta:
    """How long a row handed to the broker waits before it is handed again: as long as
    it has waited already (so a queue nobody consumes gets each row about log2(wait)
    times, not once a minute), at least OUTBOX_REOFFER_SECONDS, at most
    OUTBOX_REOFFER_MAX_SECONDS."""
    low, high = conf("REOFFER_SECONDS"), conf("REOFFER_MAX_SECONDS")
    return dt.timedelta(seconds=min(max(waited.total_seconds(), low), high))


def _offer_due(now: dt.datetime) -> int:
    rows = list(
        _due(now)
        .filter(Q(offered_at__isnull=True) | Q(reoffer_at__lte=now))
        .only("pk", "next_attempt_at")[: conf("BATCH")]
    )
    for row in rows:
        row.offered_at, row.reoffer_at = now, now + reoffer_delay(now - row.next_attempt_at)
    OutboxTask.objects.bulk_update(rows, ["offered_at", "reoffer_at"])
    refused = [row.pk for row in rows if not offer(row.pk)]
    OutboxTask.objects.filter(pk__in=refused, state=PENDING).update(offered_at=None)
    for pk in refused:  # the broker is down: this job delivers
        outbox_run(pk, now=now, bounded=True)
    return len(rows)


# --- the admin ----------------------------------------------------------------------------


def outbox_retry(*, actor, ids: list[int]) -> int:
    """Give rows that were given up another round of attempts (helpdesk admins)."""
    if not (is_agent(actor) and actor.is_helpdesk_admin):
        raise PermissionRefused(
            "Only helpdesk admins retry outbox tasks.", code="permission_denied"
        )
    return OutboxTask.objects.filter(pk__in=ids, state=DEAD).update(
        state=PENDING, attempts=0, next_attempt_at=timezone.now(), offered_at=None
    )
