"""The audit log: an append-only record of every change that is not a ticket event.

Configuration (departments, topics, SLAs, filters, roles, templates, settings, mailboxes,
webhooks, API keys and tokens), agent and client accounts, sign-ins and failed sign-ins,
exports, deletions and purges. Tickets and tasks have their own events (ThreadEvent).

One call writes an entry, inside the change's transaction so that the entry and the
change commit or roll back together::

    audit.record("department.updated", actor=actor, target=dept,
                 changes=audit.diff(before, audit.snapshot(dept)))

Who: the actor (agent, client, API key, system); a management command sets
`audit.acting_as_command("import_osticket")` so its system changes read as that command.
From where: the request's address, put in a context variable by `AuditContextMiddleware`
for the length of each request (services take no request).
Secrets never reach the log: a field whose name says password, secret, token or key is
written as "***" (`mask`).

It lives in `accounts` because that is the innermost app, importable by every other one.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest, HttpResponse

from .actors import Viewer, actor_label, actor_user, is_agent, is_api_key, is_system
from .models import AuditEntry
from .throttle import client_ip

MASK = "***"
SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "key_hash", "otp", "totp")

_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_ip", default=None)
_command: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_command", default=None)


class AuditContextMiddleware:
    """Puts the caller's address where `record` finds it, for the request's length."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _ip.set(client_ip(request) or None)
        try:
            return self.get_response(request)
        finally:
            _ip.reset(token)


@contextlib.contextmanager
def acting_as_command(name: str) -> Iterator[None]:
    """Entries written by the system inside this block name the command as actor."""
    token = _command.set(name)
    try:
        yield
    finally:
        _command.reset(token)


@contextlib.contextmanager
def from_address(ip: str | None) -> Iterator[None]:
    """Entries written inside this block carry this address (for code outside a request
    that knows it, e.g. a Celery job started by a request)."""
    token = _ip.set(ip)
    try:
        yield
    finally:
        _ip.reset(token)


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a field value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset) or (
        isinstance(value, Iterable) and not isinstance(value, bytes)
    ):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def mask(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes with every secret field's values replaced by "***"."""
    return {
        name: [MASK if v not in (None, "") else v for v in pair] if is_secret(name) else pair
        for name, pair in changes.items()
    }


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """{field name: plain value} of a model instance's concrete fields (foreign keys as
    ids), or of the named fields (many-to-many fields as sorted id lists)."""
    opts = instance._meta
    names = (
        list(fields)
        if fields is not None
        else [f.name for f in opts.concrete_fields if not f.primary_key]
    )
    out: dict[str, Any] = {}
    for name in names:
        field = opts.get_field(name)
        if field.many_to_many:
            if instance.pk is None:
                out[name] = []
            else:
                out[name] = sorted(getattr(instance, name).values_list("pk", flat=True))
        elif getattr(field, "attname", None) and field.concrete:
            out[name] = _plain(getattr(instance, field.attname))
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value differs (a field absent on one
    side reads as None)."""
    names = list(dict.fromkeys([*before, *after]))
    return {
        n: [_plain(before.get(n)), _plain(after.get(n))]
        for n in names
        if _plain(before.get(n)) != _plain(after.get(n))
    }


def _actor_kind(actor: Viewer | None) -> str:
    if is_api_key(actor):
        return AuditEntry.ActorKind.API_KEY
    if actor is None or is_system(actor):
        return AuditEntry.ActorKind.COMMAND if _command.get() else AuditEntry.ActorKind.SYSTEM
    if is_agent(actor):
        return AuditEntry.ActorKind.AGENT
    if actor_user(actor) is not None:
        return AuditEntry.ActorKind.CLIENT
    return AuditEntry.ActorKind.ANONYMOUS


def record(
    action: str,
    *,
    actor: Viewer | None,
    target: models.Model | None = None,
    target_label: str = "",
    changes: Mapping[str, Any] | None = None,
    detail: str = "",
    ip: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Write one entry now (call it inside the change's transaction); `actor` None is the
    system, an AnonymousUser someone not signed in (a failed sign-in). `action` is
    "<kind>.<verb>" (department.created, account.locked, signin.failed, export.created);
    `target` the object changed (or `target_label` when there is none, e.g. a failed
    sign-in's submitted name); `changes` {field: [before, after]} (see `diff`), masked
    here."""
    kind = _actor_kind(actor)
    label = actor_label(actor) if actor is not None else ""
    if kind == AuditEntry.ActorKind.COMMAND:
        label = f"command {_command.get()}"
    entry = AuditEntry(
        action=action,
        actor_kind=kind,
        actor_user=actor_user(actor),
        actor_label=label[:255],
        ip=ip if ip is not None else _ip.get(),
        changes=mask(changes or {}),
        detail=detail,
    )
    if at is not None:
        entry.at = at
    if target is not None:
        entry.target_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
        entry.target_id = str(target.pk)
        entry.target_repr = str(target)[:255]
    else:
        entry.target_repr = target_label[:255]
    entry.save()
    return entry


def for_object(obj: models.Model) -> models.QuerySet[AuditEntry]:
    """The entries about one object, newest first."""
    ct = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    return AuditEntry.objects.filter(target_type=ct, target_id=str(obj.pk))


def purge_before(cutoff: dt.datetime, *, batch: int = 5000) -> int:
    """Delete entries older than `cutoff` in batches (the retention purge, the only way
    entries leave the log): the number deleted."""
    total = 0
    while True:
        ids = list(
            AuditEntry.objects.filter(at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return total
        # QuerySet.delete() is refused on purpose; the raw delete skips that guard.
        total += models.QuerySet(AuditEntry).filter(id__in=ids)._raw_delete(using="default")
