"""The periodic jobs (osTicket's cron). Each is idempotent and safe to run twice at once.

Celery beat runs them through `helpdesk.tasks.run_cron_job_task` on the intervals in
settings.HELPDESK_CRON; `manage.py run_cron` runs them once by hand, or in a loop
where there is no broker (`make run`: `run_loop`, each job in its own thread, so a long
outbox drain does not hold up the overdue sweep). A job runs alone (JobLock, in the
shared cache); the lock of a run that was killed ends within the job's interval.
"""

import logging
import secrets
import threading
import time
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection

from threads import services as threads
from tickets import services as tickets

log = logging.getLogger(__name__)


def overdue_sweep() -> int:
    """Tickets, then tasks, past their due date: how many of both were marked."""
    return tickets.tickets_mark_overdue() + tickets.tasks_mark_overdue()


def purge_locks() -> int:
    return tickets.locks_purge()


def purge_drafts() -> int:
    return threads.drafts_purge(older_than_days=14)


def purge_orphan_files() -> int:
    return threads.files_purge_orphans(older_than_hours=24)


def purge_sessions() -> int:
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    return 0


def fetch_mail() -> int:
    """Fetch every enabled mailbox whose interval has passed (helpdesk.mail)."""
    from helpdesk.mail.fetching import fetch_due

    return sum(r.fetched for r in fetch_due())


def outbox_drain() -> int:
    """Run (or hand to the broker) the after-commit work that is due (helpdesk.outbox)."""
    from helpdesk.outbox.services import outbox_drain as drain

    return drain()


def webhooks_retry() -> int:
    from helpdesk.webhooks.services import deliveries_retry

    return deliveries_retry()


def purge_idempotency_keys() -> int:
    from helpdesk.api.idempotency import purge

    return purge()


def purge_alerts() -> int:
    """Agents' in-panel alerts read a month ago, or half a year old (helpdesk.alerts)."""
    from helpdesk.alerts.services import alerts_purge

    return alerts_purge()


def purge_retention() -> int:
    """What piles up (raw inbound mail, mail records, webhook deliveries, expired links,
    job runs, ...) past its age in the retention settings (helpdesk.ops.retention)."""
    from helpdesk.ops.retention import purge_all

    return sum(purge_all().values())


def purge_exports() -> int:
    """Export files past EXPORT_EXPIRY_HOURS, and their rows (helpdesk.exports)."""
    from helpdesk.exports.services import exports_purge

    return exports_purge()


def reports_refresh() -> int:
    """The reports' read models: marked tickets' facts, then marked days' sums
    (helpdesk.reports.rollup)."""
    from helpdesk.reports.rollup import reports_refresh as refresh

    return refresh()


JOBS: dict[str, Callable[[], int]] = {
    "outbox_drain": outbox_drain,
    "overdue_sweep": overdue_sweep,
    "purge_locks": purge_locks,
    "purge_drafts": purge_drafts,
    "purge_orphan_files": purge_orphan_files,
    "purge_sessions": purge_sessions,
    "fetch_mail": fetch_mail,
    "webhooks_retry": webhooks_retry,
    "purge_idempotency_keys": purge_idempotency_keys,
    "purge_alerts": purge_alerts,
    "purge_retention": purge_retention,
    "purge_exports": purge_exports,
    "reports_refresh": reports_refresh,
}


class JobLock:
    """The shared-cache lock of one running job. It lasts one interval of the job and is
    renewed every third of that while the job runs, so a run that is killed (SIGKILL,
    OOM, a hard time limit: no `finally`) holds the job up for one interval at most,
    and a live run that takes longer than its interval still runs alone."""

    def __init__(self, name: str):
        self.key = f"helpdesk:cron:{name}"
        self.seconds = max(float(settings.HELPDESK_CRON.get(name, 300)), 1.0)
        self.token = secrets.token_hex(8)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def take(self) -> bool:
        if not cache.add(self.key, self.token, timeout=self.seconds):
            return False
        self._renewer = threading.Thread(target=self._renew, name=f"{self.key} lock", daemon=True)
        self._renewer.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            if cache.get(self.key) != self.token:
                return  # lost (the cache restarted): the next run may start
            cache.touch(self.key, self.seconds)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if cache.get(self.key) == self.token:  # never another run's lock
            cache.delete(self.key)


def run_job(name: str, *, via: str = "command") -> int | None:
    """Run a job unless the same job is running right now (JobLock; the jobs are
    idempotent anyway). Returns the job's count, or None when skipped. Every run is
    recorded (helpdesk.ops.runs: start, duration, result, error); `via` says what
    started it (celery, command, loop, api)."""
    from helpdesk.ops.runs import recorded

    lock = JobLock(name)
    if not lock.take():
        log.info("cron job %s skipped: already running", name)
        return None
    try:
        with recorded(name, via=via) as run:
            result = run.count = JOBS[name]()
    finally:
        lock.release()
    log.info("cron job %s done (%s)", name, result)
    return result


# The job that runs rows of other work runs in the loop's main thread: there the outbox
# can bound each row by its task's time limit (SIGALRM, helpdesk.outbox.services).
MAIN_THREAD_JOB = "outbox_drain"


def run_loop(
    names: list[str],
    stop: threading.Event,
    report: Callable[[str, Exception], None] | None = None,
) -> None:
    """Run each job on its interval until `stop` is set, as Celery beat and its workers
    would: `outbox_drain` in the calling (main) thread, every other job in a thread of its
    own, so one slow job (a drain of many rows, a mailbox that answers slowly) never
    delays the others. A failure is reported (and logged) and the job runs again at its
    next interval."""

    def every(name: str) -> None:
        seconds = max(float(settings.HELPDESK_CRON.get(name, 300)), 1.0)
        while not stop.is_set():
            started = time.monotonic()
            close_old_connections()
            try:
                run_job(name, via="loop")
            except Exception as exc:  # a failing run must not end the job's loop
                log.exception("cron job %s failed", name)
                if report is not None:
                    report(name, exc)
            finally:
                connection.close()  # this thread's own connection
            stop.wait(max(0.0, seconds - (time.monotonic() - started)))

    others = [
        threading.Thread(target=every, args=(name,), name=f"cron {name}", daemon=True)
        for name in names
        if name != MAIN_THREAD_JOB
    ]
    for thread in others:
        thread.start()
    try:
        if MAIN_THREAD_JOB in names:
            every(MAIN_THREAD_JOB)
        else:
            while not stop.wait(1.0):
                pass
    finally:
        stop.set()
        for thread in others:
            thread.join()
