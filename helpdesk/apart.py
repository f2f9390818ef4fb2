"""Reads run apart: a read sent on another database connection, from a thread of this
process, while the request goes on building its page.

A panel page's frame (the sidebar's queue counts, the header's tasks and bell) is one
statement that PostgreSQL takes 6 to 9 ms to plan and run at a million tickets, and
nothing else on the page depends on it. The page's views start it first
(`panel.views.common.frame_ahead`); the database counts in its own process while
Python reads and writes the rest of the page; the frame takes the result at the end.
What is read, and who may see it, is unchanged: the same selectors run, only on
another connection.

- Only PostgreSQL (each connection its own server process) with persistent
  connections (CONN_MAX_AGE), and only when HELPDESK_READS_APART is on (the default).
  The tests turn it off: their data lives in a transaction no other connection sees;
  tests/panel/test_reads_apart.py commits its data and compares both ways.
- The thread gets the request's context variables (the replica router's choice:
  config.dbrouter), its language and time zone, and a connection of its own, which it
  keeps as the request threads do (CONN_MAX_AGE) and drops when unusable.
- If the read fails apart, the caller reads again in the request, so a page never
  fails because of this.
- The threads are made on first use in each process (after gunicorn forks), at most
  THREADS of them: each holds a database connection of its own (two with a read
  replica). A read started for a page that then answers otherwise (a search that
  redirects to the ticket it names) finishes unread.
"""

import contextvars
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections
from django.utils import timezone, translation

log = logging.getLogger(__name__)

THREADS = 2
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_lock = threading.Lock()


def enabled() -> bool:
    """Whether reads may run apart here: the setting, every database PostgreSQL, and
    persistent connections (CONN_MAX_AGE not 0: a thread that connected for each read
    would pay more for connecting, about 4 ms, than the read saves)."""
    if not getattr(settings, "HELPDESK_READS_APART", False):
        return False
    return all(
        connections[alias].vendor == "postgresql"
        and connections.settings[alias].get("CONN_MAX_AGE", 0) != 0
        for alias in connections
    )


def submit(fn: Callable[..., T], *args: Any) -> Future[T]:
    """Run `fn(*args)` on a thread of this process, with its own database connection,
    the request's context variables, language and time zone."""
    language = translation.get_language()
    zone = timezone.get_current_timezone()
    context = contextvars.copy_context()
    future = _executor().submit(context.run, _run, fn, args, language, zone)
    future.add_done_callback(_log_failure)  # logged even when nobody asks for it
    return future


def result(future: Future[T] | None) -> T | None:
    """The value of a read started apart; None when there was none or it failed (logged
    as it failed: the caller reads it again in the request)."""
    if future is None:
        return None
    try:
        return future.result()
    except Exception:
        return None


def shutdown() -> None:
    """Close every thread's database connections and stop the threads (the next read
    apart starts them again): for a test that must leave no connection behind."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    everyone = threading.Barrier(THREADS)  # each thread takes one close: none takes two

    def close() -> None:
        everyone.wait(timeout=10)
        connections.close_all()

    for done in [pool.submit(close) for _ in range(THREADS)]:
        done.result()
    pool.shutdown(wait=True)


def _log_failure(future: Future[Any]) -> None:
    error = None if future.cancelled() else future.exception()
    if error is not None:
        log.error("a read run apart failed", exc_info=error)


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    pid = os.getpid()
    if _pool is None or _pool_pid != pid:  # none yet, or made before a fork
        with _lock:
            if _pool is None or _pool_pid != pid:
                _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="reads-apart")
                _pool_pid = pid
    return _pool


def _run(fn: Callable[..., T], args: tuple[Any, ...], language: str | None, zone: Any) -> T:
    _tidy()  # a connection kept from an earlier read: dropped if unusable or too old
    try:
        with translation.override(language), timezone.override(zone):
            return fn(*args)
    finally:
        _tidy()  # CONN_MAX_AGE=0 closes it now, as Django does after a request


def _tidy() -> None:
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
