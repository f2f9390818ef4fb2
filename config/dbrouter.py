"""The read replica (DATABASE_REPLICA_URL adds DATABASES["replica"]; docs/deployment.md,
"Read replica").

Reads go to the replica only where it is safe and pays: the read-only pages named in
settings.REPLICA_READ_VIEWS (queues, search, reports, the API's ticket list), for a
GET or HEAD, when the caller has not written anything in the last
REPLICA_STICKY_SECONDS. Everything else reads from the primary, and every write, every
read inside `transaction.atomic` and every `select_for_update` goes to the primary.

- `ReplicaMiddleware` decides per request: it sets the context variable that allows
  replica reads just before a listed view runs, and after a request that wrote (an
  unsafe method that succeeded, or any statement that changed data on the primary
  during the request, which also sends the rest of the request to the primary) it stamps
  the caller's browser with a signed cookie: for the next REPLICA_STICKY_SECONDS that
  caller reads from the primary (read-your-writes for the agent who just wrote).
- `ReplicaRouter` (settings.DATABASE_ROUTERS) honours the variable. Writes are sent
  to the primary by name, so a row read from the replica is still saved on the primary.

Without a replica configured the router answers None everywhere: nothing changes. A
replica that cannot be reached is left alone for RETRY_SECONDS (the pages read from
the primary meanwhile), so its outage costs nothing but load on the primary.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

REPLICA = "replica"
# After the replica failed to connect, this process reads from the primary for this
# long before trying it again (no connect timeout paid on every request meanwhile).
RETRY_SECONDS = 30
COOKIE = "hd_primary"  # "this browser wrote recently": its reads go to the primary
SALT = "config.dbrouter.sticky"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Always read from the primary: credentials read from a lagging replica could sign
# someone out, or let a session, key or token that was just revoked in.
PRIMARY_MODELS = frozenset({"sessions.session", "accounts.apikey", "accounts.agenttoken"})


@dataclass
class _Request:
    replica_reads: bool = False  # reads may use the replica now
    wrote: bool = False  # a statement changed data (upkeep aside) during this request


_state: ContextVar[_Request | None] = ContextVar("replica_state", default=None)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def _replica_allowed(model) -> bool:
    state = _state.get()
    if state is None or not state.replica_reads:
        return False
    if model._meta.label_lower in PRIMARY_MODELS:
        return False
    # A transaction reads what it is about to change: from the primary, consistently.
    return not connections[DEFAULT_DB_ALIAS].in_atomic_block


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside the block may use the replica (outside a request too, e.g. a
    report job that reads a lot and writes nothing)."""
    state = _Request(replica_reads=True)
    token = _state.set(state)
    try:
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(_WriteWatch(state)):
            yield
    finally:
        _state.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str | None:
        if not replica_configured():
            return None
        return REPLICA if _replica_allowed(model) else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str | None:
        return DEFAULT_DB_ALIAS if replica_configured() else None

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # the replica holds the primary's rows: a row read there may point at one read here
        both = {obj1._state.db, obj2._state.db}
        return True if both <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db, app_label, **hints) -> bool | None:
        return False if db == REPLICA else None  # the replica follows the primary


WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "TRUNCATE", "COPY")


# Bookkeeping writes that no page reads back: a session's upkeep (sessions never come
# from the replica), an API key's or token's "last used" stamp. They do not make the
# caller sticky.
UPKEEP_MODELS = ("sessions.Session", "accounts.ApiKey", "accounts.AgentToken")


class _WriteWatch:
    """Watches the primary's statements: after the first one that changes data (upkeep
    aside), the rest of the request reads from the primary and its caller is made
    sticky."""

    def __init__(self, state: _Request) -> None:
        self.state = state

    def __call__(self, execute, sql, params, many, context):
        if not self.state.wrote and _changes_data(sql):
            self.state.wrote, self.state.replica_reads = True, False
        return execute(sql, params, many, context)


@functools.cache
def _upkeep_tables() -> tuple[str, ...]:
    return tuple(f'"{apps.get_model(label)._meta.db_table}"'.upper() for label in UPKEEP_MODELS)


def _changes_data(sql: str) -> bool:
    head = sql.lstrip()[:100].upper()
    if not head.startswith(WRITES):
        return False
    # the table follows the verb: UPDATE "t" / INSERT INTO "t" / DELETE FROM "t"
    return not any(table in head for table in _upkeep_tables())


_down_until = 0.0  # per process: monotonic time before which the replica is not tried


def _replica_usable() -> bool:
    """The replica's connection is open (opened now if need be); False, and the
    primary for RETRY_SECONDS, when it cannot be reached."""
    global _down_until
    if time.monotonic() < _down_until:
        return False
    replica = connections[REPLICA]
    try:
        if replica.connection is None:
            with replica.wrap_database_errors:
                replica.connect()
    except DatabaseError as exc:
        log.warning("read replica unreachable, reading from the primary: %s", exc)
        _down_until = time.monotonic() + RETRY_SECONDS
        return False
    return True


def _sticky(request: HttpRequest) -> bool:
    seconds = settings.REPLICA_STICKY_SECONDS
    stamp = request.get_signed_cookie(COOKIE, default=None, salt=SALT, max_age=seconds)
    return stamp is not None


class ReplicaMiddleware:
    """Allows replica reads for the listed read-only views, and stamps a caller who
    wrote."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.views = frozenset(settings.REPLICA_READ_VIEWS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        state = _Request()
        token = _state.set(state)
        try:
            with connections[DEFAULT_DB_ALIAS].execute_wrapper(_WriteWatch(state)):
                response = self.get_response(request)
        finally:
            _state.reset(token)
        succeeded_write = request.method not in SAFE_METHODS and response.status_code < 400
        if state.wrote or succeeded_write:
            response.set_signed_cookie(
                COOKIE,
                "1",
                salt=SALT,
                max_age=settings.REPLICA_STICKY_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        state = _state.get()
        match = request.resolver_match
        if (
            state is not None
            and not state.wrote
            and request.method in SAFE_METHODS
            and match is not None
            and match.view_name in self.views
            and not _sticky(request)
            and _replica_usable()
        ):
            state.replica_reads = True
