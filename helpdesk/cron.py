"""The periodic jobs (osTicket's cron). Each is idempotent and safe to run twice at once.

Celery beat runs them through `helpdesk.tasks.run_cron_job_task` on the intervals in
settings.HELPDESK_CRON; `manage.py run_cron` runs them once by hand, or in a loop
where there is no broker (`make run`).
"""

import logging
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.core.cache import cache

from threads import services as threads
from tickets import services as tickets

log = logging.getLogger(__name__)


def overdue_sweep() -> int:
    return tickets.tickets_mark_overdue()


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
}


LOCK_SECONDS = 30 * 60


def run_job(name: str) -> int | None:
    """Run a job unless the same job is running right now (a shared-cache lock; the jobs
    are idempotent anyway). Returns the job's count, or None when skipped."""
    key = f"helpdesk:cron:{name}"
    if not cache.add(key, "running", timeout=LOCK_SECONDS):
        log.info("cron job %s skipped: already running", name)
        return None
    try:
        result = JOBS[name]()
    finally:
        cache.delete(key)
    log.info("cron job %s done (%s)", name, result)
    return result
