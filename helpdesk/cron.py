"""The periodic jobs (osTicket's cron). Each is idempotent and safe to run twice at once.

Celery beat runs them through `helpdesk.tasks.run_cron_job_task` on the intervals in
settings.HELPDESK_CRON; `manage.py run_cron` runs them once by hand, or in a loop
where there is no broker (`make run`).
"""

import logging
from collections.abc import Callable
from importlib import import_module

from django.conf import settings

from threads import services as threads

log = logging.getLogger(__name__)


def purge_drafts() -> int:
    return threads.drafts_purge(older_than_days=14)


def purge_orphan_files() -> int:
    return threads.files_purge_orphans(older_than_hours=24)


def purge_sessions() -> int:
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    return 0


JOBS: dict[str, Callable[[], int]] = {
    "purge_drafts": purge_drafts,
    "purge_orphan_files": purge_orphan_files,
    "purge_sessions": purge_sessions,
}


def run_job(name: str) -> int:
    result = JOBS[name]()
    log.info("cron job %s done (%s)", name, result)
    return result
