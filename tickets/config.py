"""The configuration a new ticket reads, cached per process while it does not change.

Every new ticket reads the same few configuration rows: its default department,
priority and status, the ban list, the ticket filters, the webhook subscriptions. They
change rarely, yet reading them cost six queries per ticket. The helpdesk settings row,
read by every operation anyway, carries `config_version`: a random number replaced, in
the same transaction, whenever one of the watched models is saved or deleted (the
receivers below). A process keeps what it read under the version it saw, and drops all
of it the moment the row shows another version. So a change made by an admin in one
process is seen by the next ticket opened in any other, with no extra query and no
time-to-live.

Why this is safe: a value is always read after the version it is stored under, so it is
never older than that version; versions are random, so a rolled-back change cannot make
an old version come back with other data under it. Cached model instances are handed
out as copies, so nothing one request loads onto them (a lazy foreign key, such as a
department's manager) is seen by the next request. Users are never cached.
"""

import contextvars
import copy
import secrets
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from django.db.models.signals import post_delete, post_save

from accounts.watched import rows_changed

if TYPE_CHECKING:
    from django.db.models import Model

    from routing.models import SLA, Department, HelpTopic

    from .models import HelpdeskSettings, Priority, TicketStatus

    M = TypeVar("M", bound=Model)

_MISSING = object()


def new_version() -> int:
    return secrets.randbits(62) + 1


class ConfigCache:
    """Values kept for one configuration version (thread-safe; one per process)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._version = None
        self._values: dict = {}

    def get(self, version: int, key, load: Callable):
        with self._lock:
            if version == self._version:
                value = self._values.get(key, _MISSING)
                if value is not _MISSING:
                    return value
        value = load()  # outside the lock: a query
        with self._lock:
            if version != self._version:
                self._version, self._values = version, {}
            self._values[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._version, self._values = None, {}


CACHE = ConfigCache()


class Snapshot:
    """The configuration in force for the settings row `config` (as read by
    HelpdeskSettings.load()). Lookups by primary key answer a fresh copy, or None."""

    def __init__(self, config: "HelpdeskSettings") -> None:
        self.config = config
        self.version = config.config_version

    def cached(self, key, load: Callable):
        """`load()` once per process and configuration version. The value must not be
        changed by the caller, and must hold no users (they are not watched)."""
        return CACHE.get(self.version, key, load)

    def _row(self, model: "type[M]", pk: int | None) -> "M | None":
        if pk is None:
            return None
        row: M | None = self.cached(
            (model._meta.label, pk), lambda: model._default_manager.filter(pk=pk).first()
        )
        return copy.copy(row) if row is not None else None

    def sla(self, pk: int | None) -> "SLA | None":
        from routing.models import SLA

        return self._row(SLA, pk)

    def department(self, pk: int | None) -> "Department | None":
        from routing.models import Department

        department = self._row(Department, pk)
        return self.fill(department, ("sla",)) if department is not None else None

    def priority(self, pk: int | None) -> "Priority | None":
        from .models import Priority

        return self._row(Priority, pk)

    def status(self, pk: int | None) -> "TicketStatus | None":
        from .models import TicketStatus

        return self._row(TicketStatus, pk)

    def topic(self, pk: int | None) -> "HelpTopic | None":
        from routing.models import HelpTopic

        return self.hydrate_topic(self._row(HelpTopic, pk))

    def hydrate_topic(self, topic: "HelpTopic | None") -> "HelpTopic | None":
        """Fill a help topic's routing targets (department, SLA, priority, status) from
        the snapshot, where they are not loaded yet; the rest stays lazy."""
        if topic is None:
            return None
        return self.fill(topic, ("department", "sla", "priority", "status"))

    def fill(self, obj: "M", names: Iterable[str]) -> "M":
        """Set `obj`'s relations `names` (each one this snapshot looks up by key) to
        copies of the snapshot's rows, where they are not loaded yet. A relation the
        snapshot does not find stays lazy (never set to None: that would clear it)."""
        loaded = obj._state.fields_cache
        for name in names:
            pk = getattr(obj, f"{name}_id")
            if pk is not None and name not in loaded:
                row = getattr(self, name)(pk)
                if row is not None:
                    setattr(obj, name, row)
        return obj

    def banned(self, email: str) -> bool:
        from routing.selectors import banned_addresses, email_is_banned

        return email_is_banned(email, banned=self.cached("banned", banned_addresses))

    def filters(self, source: str) -> list:
        """The active ticket filters for a source's channel, rules and actions loaded."""
        from routing.filters import SOURCE_CHANNEL, active_filters

        channel = SOURCE_CHANNEL.get(source, "web")
        return self.cached(("filters", channel), lambda: list(active_filters(source)))


# --- the configuration in force during an operation ------------------------------------

_current: contextvars.ContextVar = contextvars.ContextVar("helpdesk_config", default=None)


@contextmanager
def in_force(snapshot: Snapshot):
    """Make `snapshot` the configuration receivers see (`current()`) inside the block."""
    token = _current.set(snapshot)
    try:
        yield snapshot
    finally:
        _current.reset(token)


def current() -> Snapshot | None:
    return _current.get()


# --- invalidation ----------------------------------------------------------------------


def config_changed(sender=None, **kwargs) -> None:
    """A watched row was saved or deleted: give the settings row a new version, in the
    same transaction as the change."""
    from .models import HelpdeskSettings

    HelpdeskSettings._base_manager.filter(pk=1).update(config_version=new_version())
    CACHE.clear()


def after_migrate(sender=None, using="default", **kwargs) -> None:
    """post_migrate: a new version (the settings table may be gone after `migrate
    tickets zero`)."""
    from django.db import connections

    from .models import HelpdeskSettings

    connection = connections[using]
    if HelpdeskSettings._meta.db_table in connection.introspection.table_names():
        HelpdeskSettings._base_manager.using(using).filter(pk=1).update(
            config_version=new_version()
        )
    CACHE.clear()


def watch(*models) -> None:
    """Any save or delete of these models changes the configuration version, and so
    does a bulk write through their accounts.watched.WatchedQuerySet."""
    for model in models:
        uid = f"tickets.config.{model._meta.label}"
        post_save.connect(config_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(config_changed, sender=model, dispatch_uid=f"{uid}.delete")
        rows_changed.connect(config_changed, sender=model, dispatch_uid=f"{uid}.bulk")
