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
Secrets never reach the log: a field whose name says password, secret, token, key, hash
or nonce is written as "***" (`mask`).

Where entries are written (one hook per channel of change, never per model):
- configuration rows: `accounts.configuration.config_save` / `config_delete`, the common
  steps of every owning app's `<entity>_save` / `_delete` service;
- the Django admin: `accounts.admin_services.AuditedAdmin`, mixed into every ModelAdmin by
  `helpdesk.adminsite.HelpdeskAdminSite.register`; it writes the entry only when the
  service it called did not (a model the admin saves without a service: roles, filters,
  templates, mailboxes, the settings rows), and the inline rows' changes;
- accounts, keys, tokens, two-factor: their services (accounts.services*, accounts.apikeys,
  helpdesk.panel.services);
- sign-ins: Django's `user_logged_in` / `user_login_failed` signals (`signin_succeeded`,
  `signin_failed`, connected in AccountsConfig.ready) for the panel (where admins sign
  in too) and the portal;
- the retention purge (helpdesk.ops.retention.purge_all) and exports.

Action names are "<kind>.<verb>"; ACTIONS lists them (the panel's filter offers the kinds).
A model the admin writes that is not named there (a saved queue, an invitation row) is
recorded by the admin hook as "<model name>.created/updated/deleted".

It lives in `accounts` because that is the innermost app, importable by every other one.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import OperationalError, models, transaction
from django.http import HttpRequest, HttpResponse

from .actors import Viewer, actor_label, actor_user, is_agent, is_api_key, is_system
from .models import AuditEntry
from .throttle import client_ip

log = logging.getLogger(__name__)

MASK = "***"
SECRET_WORDS = (
    "password",
    "secret",
    "token",
    "api_key",
    "apikey",
    "_hash",
    "otp",
    "totp",
    "nonce",
)

# The kinds of configuration and their verbs (created, updated, deleted) are written by
# config_save/config_delete and the admin hook; the others by the services named.
CONFIG_KINDS = (
    "department",
    "team",
    "topic",
    "sla",
    "schedule",
    "filter",
    "bannedemail",
    "status",
    "priority",
    "customform",
    "role",
    "organization",
    "template",
    "templateset",
    "mailbox",
    "maildepartment",
    "webhook",
    "apikey",
    "token",
    "settings",
    "cannedresponse",
    "faq",
    "faqcategory",
)
ACTIONS = (
    *(f"{kind}.{verb}" for kind in CONFIG_KINDS for verb in ("created", "updated", "deleted")),
    "apikey.revoked",  # deactivated (api_key_update)
    "token.revoked",  # accounts.apikeys.token_revoke
    "account.created",  # accounts.services.user_create
    "account.updated",  # user_update, profile updates, further addresses
    "account.access_changed",  # agent flag, admin flag, department, role, permissions
    "account.deleted",  # tickets.services.people.user_delete, the admin
    "account.merged",  # tickets.services.people.user_merge (on the account kept)
    "account.locked",  # accounts.services.user_lock
    "account.unlocked",
    "account.activated",  # a client's first password (verification, invitation)
    "account.invited",  # helpdesk.portal.services.invitation_create
    "account.password_changed",  # own change, reset link, admin's password form
    "account.2fa_enabled",  # helpdesk.panel.services.totp_verify(confirm=True)
    "account.2fa_disabled",  # helpdesk.panel.services.totp_disable
    "twofactor.deleted",  # the admin deleting an agent's authenticator
    "account.recovery_codes_generated",
    "signin.succeeded",  # panel (the admin's sign-in too), portal (user_logged_in)
    "signin.failed",  # wrong password, refused account, wrong second factor
    "signin.recovery_code_used",
    "retention.purged",  # helpdesk.ops.retention.purge_all
    "export.created",  # the audit log's CSV export
)

# model label -> kind, where the kind is not the model's name
KIND_OF: dict[str, str] = {
    "accounts.user": "account",
    "accounts.apikey": "apikey",
    "accounts.agenttoken": "token",
    "routing.helptopic": "topic",
    "routing.ticketfilter": "filter",
    "tickets.ticketstatus": "status",
    "helpdesk_mail.emailtemplate": "template",
    "helpdesk_mail.emailtemplateset": "templateset",
    "helpdesk_mail.departmentmailsettings": "maildepartment",
    "helpdesk_webhooks.subscription": "webhook",
    "helpdesk_panel.totpdevice": "twofactor",
}
# an account change touching one of these is an access change
ACCESS_FIELDS = frozenset(
    {
        "is_agent",
        "is_helpdesk_admin",
        "is_superuser",
        "is_staff",
        "department",
        "role",
        "permissions",
        "assigned_only",
        "groups",
        "user_permissions",
        "department_accesses",
    }
)

_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_ip", default=None)
_command: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_command", default=None)
_actor: contextvars.ContextVar[Viewer | None] = contextvars.ContextVar("audit_actor", default=None)
_watchers: contextvars.ContextVar[tuple[set[tuple[str, str]], ...]] = contextvars.ContextVar(
    "audit_watchers", default=()
)


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


@contextlib.contextmanager
def acting_for(actor: Viewer) -> Iterator[None]:
    """Who acts, for code that writes an entry without being told (Django's password
    forms, called by views that know the user)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Viewer | None:
    return _actor.get()


@contextlib.contextmanager
def watching() -> Iterator[set[tuple[str, str]]]:
    """The objects (`target_key`) an entry is written about inside this block: the admin
    hook writes its own only for an object its service left without one."""
    seen: set[tuple[str, str]] = set()
    token = _watchers.set((*_watchers.get(), seen))
    try:
        yield seen
    finally:
        _watchers.reset(token)


def _concrete(model: type[models.Model] | models.Model) -> type[models.Model]:
    concrete = model._meta.concrete_model
    return (
        concrete
        if concrete is not None
        else type(model)
        if isinstance(model, models.Model)
        else model
    )


def target_key(obj: models.Model) -> tuple[str, str]:
    """(concrete model label, primary key): an object whatever proxy names it."""
    return _concrete(obj)._meta.label_lower, str(obj.pk)


def kind_of(model: type[models.Model] | models.Model) -> str:
    """The "<kind>" of an action about a model: a settings row is "settings"."""
    from .singleton import SingletonSettings

    opts = _concrete(model)._meta
    if issubclass(opts.model, SingletonSettings):
        return "settings"
    return KIND_OF.get(opts.label_lower, opts.model_name or "")


def action_for(obj: models.Model, verb: str, changes: Mapping[str, Any] | None = None) -> str:
    """The action of a created/updated/deleted row; an account update touching access
    (role, departments, permissions, admin flag) is "account.access_changed", one of its
    lock "account.locked"/"account.unlocked"."""
    kind = kind_of(obj)
    if kind == "account" and verb == "updated" and changes:
        if "is_locked" in changes:
            return "account.locked" if changes["is_locked"][1] else "account.unlocked"
        if ACCESS_FIELDS & set(changes):
            return "account.access_changed"
    return f"{kind}.{verb}"


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
        else [
            f.name
            for f in opts.concrete_fields
            if not f.primary_key and not getattr(f, "auto_now", False)
        ]
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


def full_snapshot(instance: models.Model) -> dict[str, Any]:
    """`snapshot` with the many-to-many fields too."""
    opts = instance._meta
    return snapshot(
        instance,
        [
            *(
                f.name
                for f in opts.concrete_fields
                if not f.primary_key and not getattr(f, "auto_now", False)
            ),
            *(f.name for f in opts.many_to_many),
        ],
    )


def stored_snapshot(instance: models.Model) -> dict[str, Any]:
    """`full_snapshot` of the row as stored (the instance may hold unsaved changes
    already, as an admin form's does); {} for a new row."""
    if instance._state.adding or instance.pk is None:
        return {}
    stored = type(instance)._base_manager.filter(pk=instance.pk).first()
    return full_snapshot(stored) if stored is not None else {}


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
    if actor is None:
        actor = _actor.get()
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
        entry.target_type = ContentType.objects.get_for_model(target)
        entry.target_id = str(target.pk)
        entry.target_repr = (target_label or str(target))[:255]
        for seen in _watchers.get():
            seen.add(target_key(target))
    else:
        entry.target_repr = target_label[:255]
    entry.save()
    return entry


def for_object(obj: models.Model) -> models.QuerySet[AuditEntry]:
    """The entries about one object, newest first."""
    ct = ContentType.objects.get_for_model(obj)
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


# --- sign-ins: Django's signals, sent by every surface that signs in through
# django.contrib.auth (the panel, the portal, the admin) ---------------------------------
SURFACES = {"panel": "staff panel", "portal": "portal", "admin": "admin"}


def surface(request: HttpRequest | None) -> str:
    """Where a sign-in happened: the URL namespace of the view (panel, portal, admin)."""
    match = getattr(request, "resolver_match", None)
    namespace = (match.namespace or "").split(":")[0] if match is not None else ""
    return SURFACES.get(namespace, namespace or "")


def signin_succeeded(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """(user_logged_in) One entry per sign-in, by the account itself."""
    _record_alone("signin.succeeded", actor=user, target=user, detail=surface(request))


def signin_failed(
    sender: object, credentials: Mapping[str, Any], request: HttpRequest | None = None, **kw: Any
) -> None:
    """(user_login_failed) One entry per refused sign-in: the account it named when
    there is one, else the name typed. `credentials` may carry a `reason` (the panel's
    refusals after the password: a client's account, a wrong second factor)."""
    from django.contrib.auth.models import AnonymousUser

    from .selectors import user_find_by_login

    login = str(credentials.get("username") or credentials.get("email") or "")[:255]
    account = user_find_by_login(login) if login else None
    detail = ", ".join(x for x in (surface(request), str(credentials.get("reason") or "")) if x)
    _record_alone(
        "signin.failed",
        actor=AnonymousUser(),
        target=account,
        target_label=login if account is None else "",
        detail=detail,
    )


def _record_alone(action: str, **kwargs: Any) -> None:
    """`record` for an entry that is its own write (a refused sign-in changes nothing
    else): retried a few times when the database is busy (SQLite takes one writer at a
    time, and a burst of refused sign-ins all write at once), then logged, never an
    error page for the person signing in."""
    for attempt in range(8):
        try:
            with transaction.atomic():
                record(action, **kwargs)
            return
        except OperationalError:
            time.sleep(0.02 * (attempt + 1))
    log.error("audit entry %s not written (database busy): %s", action, kwargs.get("detail"))


class NamedCommand(BaseCommand):
    """Base of our management commands: what one writes as the system reads, in the
    audit log, as that command ("command create_api_key"), however it is run (manage.py,
    call_command, the cron runner)."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        with acting_as_command(type(self).__module__.rsplit(".", 1)[-1]):
            return super().execute(*args, **options)
