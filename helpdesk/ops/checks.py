"""Reachability of what the helpdesk needs: the database, the cache, the broker and
file storage (`/readyz`, the health page), and the Celery queue's length.

Each check answers True or False and never raises; why one failed is logged, never
shown (the probes answer anyone). Redis is asked directly, with the short timeouts of
settings.REDIS_TIMEOUT_SECONDS: the cache itself would answer from process memory
while Redis is down (config/cache.py), which is right for requests, wrong here.
"""

import logging
import os
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection

log = logging.getLogger(__name__)

PROBE_KEY = "helpdesk:ops:probe"


def _redis(url: str):
    import redis

    timeout = settings.REDIS_TIMEOUT_SECONDS
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def redis_reachable(url: str) -> bool:
    client = _redis(url)
    try:
        return bool(client.ping())
    finally:
        client.close()


def cache_check() -> bool:
    if settings.REDIS_URL:
        return redis_reachable(settings.REDIS_URL)
    cache.set(PROBE_KEY, "1", timeout=10)
    return cache.get(PROBE_KEY) == "1"


def broker() -> bool:
    url = settings.CELERY_BROKER_URL
    if url.startswith("memory://"):
        return True  # no broker: the outbox job runs the work in process
    if url.startswith(("redis://", "rediss://", "unix://")):
        return redis_reachable(url)
    from kombu import Connection

    with Connection(url, connect_timeout=settings.REDIS_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1)
    return True


def storage() -> bool:
    if isinstance(default_storage, FileSystemStorage):
        # the filesystem: the folder is (or can be) there, writable
        location = default_storage.location
        os.makedirs(location, mode=0o700, exist_ok=True)  # as the storage does on a save
        return os.access(location, os.W_OK | os.X_OK)
    ready = getattr(default_storage, "ready", None)
    if ready is not None:  # object storage (config.s3storage): the bucket answers
        return bool(ready())
    default_storage.exists(".readyz")  # another storage: a request answered
    return True


CHECKS: dict[str, Callable[[], bool]] = {
    "database": database,
    "cache": cache_check,
    "broker": broker,
    "storage": storage,
}


def run(names=None) -> dict[str, bool]:
    """{check name: passed} of every check (or of `names`)."""
    results = {}
    for name in names or CHECKS:
        try:
            results[name] = bool(CHECKS[name]())
        except Exception as exc:  # unreachable, refused, timed out: a failed check
            log.warning("readiness check %s failed: %s", name, exc)
            results[name] = False
    return results


def queue_length() -> int | None:
    """Tasks waiting in the Celery queue (Redis LLEN), or None without a Redis broker or
    when it does not answer."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    try:
        client = _redis(url)
        try:
            return int(client.llen(queue))
        finally:
            client.close()
    except Exception as exc:
        log.warning("Celery queue length unknown: %s", exc)
        return None
