"""One Celery beat at a time across every machine, the others waiting as standbys.

Two beats would queue every periodic job twice. Each job also runs alone (the job lock
of helpdesk.cron), but "alone" is not "once per interval". So a beat, before its
scheduler starts (Celery's `beat_init` signal, config/celery.py), takes a PostgreSQL
session-level advisory lock on a connection of its own and keeps it for its lifetime:

- the first beat gets it and schedules; any other beat waits, trying again every
  STANDBY_RETRY_SECONDS, and says so in its log;
- the lock belongs to the leader's database session, so when the leader dies (kill -9,
  a machine lost) PostgreSQL ends the session and releases the lock at once, and a
  standby takes over at its next try;
- if the leader loses its database session (the server restarted, the network cut it),
  it can no longer know that it is alone: it exits (status 3) so that its supervisor
  restarts it as a contender, rather than schedule beside a new leader.

On SQLite (the embedded single-machine run) there is one machine and no lock to take.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.db import connections

log = logging.getLogger(__name__)

# pg advisory lock keys are bigints; this one is "helpdesk beat" in ASCII, truncated
LOCK_KEY = 0x68656C7064657362
STANDBY_RETRY_SECONDS = float(os.environ.get("BEAT_STANDBY_RETRY_SECONDS", "5"))
CHECK_SECONDS = float(os.environ.get("BEAT_LEADER_CHECK_SECONDS", "10"))
LOST_EXIT_STATUS = 3

_held = None  # the leader's own connection, kept open for the process's life


def _connection():
    conn = connections.create_connection("default")
    conn.ensure_connection()
    return conn


def become_leader(*, retry: float | None = None, check: float | None = None) -> bool:
    """Block until this process holds the beat lock; False where there is nothing to
    hold (not PostgreSQL). Then watch the lock's session in a daemon thread."""
    global _held
    if connections["default"].vendor != "postgresql":
        return False
    retry = STANDBY_RETRY_SECONDS if retry is None else retry
    said_standby = False
    while True:
        try:
            conn = _connection()
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                (taken,) = cursor.fetchone()
        except Exception as exc:  # the database is down: wait for it like a standby
            log.warning("beat: cannot reach the database to take the beat lock: %s", exc)
            taken, conn = False, None
        if taken:
            _held = conn
            log.warning("beat: leader (pid %s), scheduling the jobs", os.getpid())
            watcher = threading.Thread(
                target=_watch, args=(conn, CHECK_SECONDS if check is None else check),
                name="beat leader lock", daemon=True,
            )  # fmt: skip
            watcher.start()
            return True
        if conn is not None:
            conn.close()
        if not said_standby:
            log.warning("beat: another beat is the leader; this one waits as a standby")
            said_standby = True
        time.sleep(retry)


def _watch(conn, every: float) -> None:
    raw = conn.connection  # the driver's connection: Django's wrapper stays in its thread
    while True:
        time.sleep(every)
        try:
            with raw.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted AND "
                    "((classid::bigint << 32) | objid::bigint) = %s",
                    [LOCK_KEY],
                )
                (held,) = cursor.fetchone()
        except Exception as exc:
            _exit(f"lost the database session holding the beat lock ({exc})")
        if not held:
            _exit("the beat lock is no longer held")


def _exit(why: str) -> None:
    log.error("beat: %s; exiting so that it starts again as a contender", why)
    logging.shutdown()
    os._exit(LOST_EXIT_STATUS)
