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

What may be cached is declared, not remembered: a model whose rows the cache keeps
carries `@accounts.watched.cached_rows`; invalidation is connected for every model so
declared (`watch_cached_models`), and the cache refuses to keep a row of any other model
(`CacheRefused`). What the cache keeps is frozen (`freeze`): the kept instances are
shared by every request and thread of the process, so they may not load anything (a
relation not loaded, a deferred field, a reverse relation not prefetched) nor be saved:
`FrozenRowRouter` raises `FrozenRow` instead of running the query. Copies are ordinary
instances (`Snapshot` lookups hand out copies; `copy.copy` of a kept row is one).
"""

import contextvars
import dataclasses
import datetime as dt
import decimal
import enum
import secrets
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete, post_save

from accounts.watched import cached_models, check_cached_models, is_cached_model, rows_changed

if TYPE_CHECKING:
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
        freeze(value)
        with self._lock:
            if version != self._version:
                self._version, self._values = version, {}
            self._values[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._version, self._values = None, {}


CACHE = ConfigCache()


# --- what the cache keeps: rows of declared models, frozen ------------------------------


class CacheRefused(TypeError):
    """A value the configuration cache may not keep (a row of a model not declared with
    @cached_rows, such as a user, or an object it cannot look into)."""


class FrozenRow(RuntimeError):
    """A row kept by the configuration cache was asked to query (load a relation or a
    deferred field) or to be saved."""


# Kept instances by identity (a copy is equal to its original, but not frozen).
_frozen: "weakref.WeakValueDictionary[int, Model]" = weakref.WeakValueDictionary()
_PLAIN = (str, bytes, int, float, bool, type(None), dt.date, dt.time, dt.timedelta)
_PLAIN += (decimal.Decimal, uuid.UUID, enum.Enum)


def rows_in(value) -> Iterator[Model]:
    """Every model instance `value` holds: itself, in containers, in dataclasses, and
    the relations loaded onto each instance (select_related and prefetch_related caches).
    Raises CacheRefused for an object it cannot look into."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _PLAIN) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Model):
            yield item
            stack.extend(item._state.fields_cache.values())
            stack.extend(getattr(item, "_prefetched_objects_cache", {}).values())
        elif isinstance(item, QuerySet):
            if item._result_cache is None:
                raise CacheRefused(f"An unevaluated queryset cannot be cached: {item.query}")
            stack.extend(item._result_cache)
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        else:
            raise CacheRefused(
                f"tickets.config keeps model rows, containers, dataclasses and plain "
                f"values; not {type(item).__qualname__}."
            )


def freeze(value) -> None:
    """Mark every row `value` holds as kept by the cache; refuse rows of models that are
    not declared @cached_rows (their changes would not give a new version)."""
    rows = list(rows_in(value))
    for row in rows:
        if not is_cached_model(type(row)):
            raise CacheRefused(
                f"tickets.config may not keep a {row._meta.label} row: the model is not "
                "declared with @accounts.watched.cached_rows, so a change to it would not "
                "be seen (users are never cached)."
            )
    for row in rows:
        _frozen[id(row)] = row


def is_frozen(row) -> bool:
    return _frozen.get(id(row)) is row


def _refuse(instance, doing: str):
    raise FrozenRow(
        f"{instance._meta.label} #{instance.pk} is kept by the configuration cache "
        f"(tickets.config) and shared by every request: it may not {doing}. Use the copy "
        "a Snapshot lookup hands out (or copy.copy() it), or load what it lacks through "
        "the snapshot."
    )


class FrozenRowRouter:
    """Database router (settings.DATABASE_ROUTERS): a query on behalf of a frozen row
    (a relation or deferred field not loaded, a reverse relation not prefetched) and a
    save or delete of one raise FrozenRow; everything else is left to the next router."""

    def db_for_read(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and is_frozen(instance):
            _refuse(instance, "load anything (a relation or field that was not loaded)")
        return None

    def db_for_write(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and isinstance(instance, model) and is_frozen(instance):
            _refuse(instance, "be saved or deleted")
        return None


def copied(row: "M") -> "M":
    """`copy.copy(row)` without the pickling protocol's detour (the model looked up again
    by name, Django's version stamped on and checked): the state `Model.__getstate__`
    gives, its `_state` and relations cache the copy's own. A page of 50 rows takes a
    few hundred of them; this is a third cheaper each."""
    new = row.__class__.__new__(row.__class__)
    state = row.__getstate__()
    for attr, value in state.pop("_memoryview_attrs", ()):
        state[attr] = memoryview(value)
    new.__dict__.update(state)
    return new


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
        return copied(row) if row is not None else None

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


def watch_cached_models() -> None:
    """Any save or delete of a model declared @cached_rows changes the configuration
    version, and so does a bulk write through its accounts.watched.WatchedQuerySet
    (checked here: a declared model without one stops the start)."""
    check_cached_models()
    for model in cached_models():
        uid = f"tickets.config.{model._meta.label}"
        post_save.connect(config_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(config_changed, sender=model, dispatch_uid=f"{uid}.delete")
        rows_changed.connect(config_changed, sender=model, dispatch_uid=f"{uid}.bulk")
