"""API keys and agent tokens: creation, revocation, lookup and the key's actor.

Secrets are random, shown once, and stored as their SHA-256 (a lookup is one indexed
query on the hash). An API key is osTicket's: 32 hexadecimal digits, compared
case-insensitively (osTicket's column compares so), so its hash is taken of the
upper-case form (`api_key_hash`); an existing osTicket key can be registered as it is
(`api_key_create(secret=...)`, `manage.py create_api_key --key`). An API key acts as
`accounts.actors.ApiKeyActor`, its own kind of actor: the services and selectors hold it
to its scope (the whole helpdesk, or its departments) as they hold an agent to its
departments (`tickets.permissions`); an agent token acts as its agent.
"""

import datetime as dt
import hashlib
import ipaddress
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import cast

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from . import audit
from .actors import Actor, ApiKeyActor, Viewer, is_agent, is_system
from .errors import Conflict, NotVisible, PermissionRefused, ValidationFailed
from .models import AgentToken, ApiKey, Role, User
from .rows import Quoter, RowQuery

TOKEN_PREFIX = "hdt_"  # noqa: S105 (a label, not a secret)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


OSTICKET_KEY = re.compile(r"[0-9A-Fa-f]{32}")


def api_key_hash(secret: str) -> str:
    """The stored form of an API key: the SHA-256 of its upper-case form, so a key
    compares case-insensitively as osTicket's do (keys are ASCII hexadecimal; every key
    this helpdesk made is upper-case already, so their hashes are unchanged)."""
    return secret_hash(secret.upper())


def actor_for_key(key: ApiKey) -> ApiKeyActor:
    """The key's actor, with its department scope (writing implies reading): as
    api_key_find() loaded it with the key, else read now."""
    scope = key.department_scope
    if scope is None:
        scope = (
            frozenset(key.read_departments.values_list("pk", flat=True)),
            frozenset(key.write_departments.values_list("pk", flat=True)),
        )
    read, write = scope[0] | scope[1], scope[1]
    return ApiKeyActor(
        key_id=key.pk,
        label=f"API key {key.name}"[:128],
        can_create_tickets=key.can_create_tickets,
        can_exec_cron=key.can_exec_cron,
        is_mail_relay=key.is_mail_relay,
        all_departments=key.all_departments,
        read_departments=read,
        write_departments=write,
    )


# --- addresses -------------------------------------------------------------------------


def parse_networks(values: str | Iterable[object] | None) -> list[str]:
    """Normalise a list of addresses or CIDR networks; ValidationFailed on a bad one."""
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    bad: list[str] = []
    for value in values or ():
        try:
            out.append(str(ipaddress.ip_network(str(value).strip(), strict=False)))
        except ValueError:
            bad.append(str(value))
    if bad:
        msg = f"Not an address or network: {', '.join(bad)}."
        raise ValidationFailed(msg, code="invalid_network", fields={"allowed_ips": [msg]})
    return out


def key_networks(values: str | Iterable[object] | None) -> list[str]:
    """A key's addresses, normalised: at least one, each an address or a network."""
    networks = parse_networks(values)
    if not networks:
        raise ValidationFailed(
            "Bind the key to at least one address or network.",
            code="no_address",
            fields={"allowed_ips": ["At least one address or network is required."]},
        )
    return networks


def address_allowed(key: ApiKey, address: str) -> bool:
    """Is `address` inside one of the key's networks? An empty list allows nothing."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for net in key.allowed_ips or ():
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except (TypeError, ValueError):
            continue
    return False


# --- API keys --------------------------------------------------------------------------


def _require_admin(actor: Actor) -> None:
    if is_system(actor):
        return
    if not (is_agent(actor) and actor.is_helpdesk_admin):
        raise PermissionRefused("Only helpdesk admins manage API keys.", code="permission_denied")


def api_key_create(
    *,
    actor: Actor,
    name: str,
    allowed_ips: str | Iterable[object],
    can_create_tickets: bool = False,
    can_exec_cron: bool = False,
    is_mail_relay: bool = False,
    all_departments: bool | None = None,
    read_departments: Iterable[Model | int] = (),
    write_departments: Iterable[Model | int] = (),
    notes: str = "",
    secret: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key; returns (key row, the key itself: 32 uppercase hex digits, osTicket's
    format). The key is not stored and cannot be shown again.

    `secret`: an existing osTicket key to register as it is (32 hexadecimal digits, in
    either case; stored, like any key, as the hash of its upper-case form); a key of
    another shape is refused (`invalid_key`), one already registered too (`duplicate_key`),
    and nothing is written. Without it a random key is made.

    Scope: `all_departments` (the whole helpdesk, as osTicket's keys) or the departments
    given. Left to None it is the whole helpdesk for a key that creates tickets and names
    no department (osTicket's keys, as the README's command makes them); a key naming
    departments, or one that only runs the cron jobs, touches those or none.
    `is_mail_relay`: the Authentication-Results of the raw mail it posts are believed
    (our own MTA only)."""
    _require_admin(actor)
    networks = key_networks(allowed_ips)
    secret = _new_secret(secret)
    reads, writes = _pks(read_departments), _pks(write_departments)
    if all_departments is None:
        all_departments = can_create_tickets and not (reads or writes)
    _check_scope(all_departments, reads, writes)
    try:
        with transaction.atomic():
            if ApiKey.objects.filter(key_hash=api_key_hash(secret)).exists():
                raise _duplicate()
            key = ApiKey.objects.create(
                name=(name or "API key").strip()[:128] or "API key",
                key_hash=api_key_hash(secret),
                key_prefix=secret[:8],
                allowed_ips=networks,
                can_create_tickets=can_create_tickets,
                can_exec_cron=can_exec_cron,
                is_mail_relay=is_mail_relay,
                all_departments=all_departments,
                notes=notes,
            )
            key.read_departments.set(reads)
            key.write_departments.set(writes)
            audit.record(
                "apikey.created",
                actor=actor,
                target=key,
                changes=audit.diff({}, audit.full_snapshot(key)),
            )
    except IntegrityError:  # registered by a concurrent call in between
        raise _duplicate() from None
    return key, secret


def _new_secret(secret: str | None) -> str:
    if secret is None:
        return secrets.token_hex(16).upper()
    value = secret.strip()
    if not OSTICKET_KEY.fullmatch(value):
        msg = "An osTicket API key is 32 hexadecimal digits (0-9, A-F)."
        raise ValidationFailed(msg, code="invalid_key", fields={"key": [msg]})
    return value.upper()


def _duplicate() -> Conflict:
    msg = "This API key is already registered."
    return Conflict(msg, code="duplicate_key", fields={"key": [msg]})


def _check_scope(all_departments: bool, reads: Iterable[int], writes: Iterable[int]) -> None:
    """A key for the whole helpdesk lists no department: one scope or the other."""
    if all_departments and (list(reads) or list(writes)):
        msg = "A key for the whole helpdesk has no department list: clear one or the other."
        raise ValidationFailed(msg, code="scope_ambiguous", fields={"all_departments": [msg]})


def _pks(rows: Iterable[Model | int]) -> list[int]:
    return [row.pk if isinstance(row, Model) else row for row in rows]


KEY_SETTINGS = frozenset(
    {
        "name",
        "is_active",
        "allowed_ips",
        "can_create_tickets",
        "can_exec_cron",
        "is_mail_relay",
        "all_departments",
        "notes",
    }
)
KEY_SCOPES = frozenset({"read_departments", "write_departments"})


def api_key_update(
    *,
    actor: Actor,
    key: ApiKey,
    data: Mapping[str, object],
    scopes: Mapping[str, object] | None = None,
) -> ApiKey:
    """Change a key (helpdesk admins): its name, addresses (normalised; none leaves the
    key usable from nowhere), capabilities, active flag and notes (`data`), and its
    department scopes (`scopes`: read_departments, write_departments), in one
    transaction. A key for the whole helpdesk (`all_departments`) lists no department
    (`scope_ambiguous`, nothing changed). The secret never changes."""
    _require_admin(actor)
    unknown = (set(data) - KEY_SETTINGS) | (set(scopes or {}) - KEY_SCOPES)
    if unknown:
        raise ValidationFailed(f"Not a setting of an API key: {', '.join(sorted(unknown))}.")
    data = dict(data)
    # the values are the fields' (a form's or a serializer's cleaned data)
    if "allowed_ips" in data:
        data["allowed_ips"] = parse_networks(
            cast("str | Iterable[object] | None", data["allowed_ips"])
        )
    if "name" in data:
        data["name"] = (cast("str | None", data["name"]) or "").strip()[:128] or "API key"
    with transaction.atomic():
        before = audit.stored_snapshot(key)
        for name, value in data.items():
            setattr(key, name, value)
        _check_scope(
            key.all_departments,
            *(_scope_pks(key, name, (scopes or {}).get(name)) for name in sorted(KEY_SCOPES)),
        )
        key.save()
        for name, values in (scopes or {}).items():
            getattr(key, name).set(values)
        changes = audit.diff(before, audit.full_snapshot(key))
        if changes:
            revoked = changes.get("is_active") == [True, False]
            action = "apikey.revoked" if revoked else "apikey.updated"
            audit.record(action, actor=actor, target=key, changes=changes)
    return key


def _scope_pks(key: ApiKey, name: str, given: object) -> list[int]:
    """The department ids a scope will hold: those given, else the key's."""
    if given is None:
        return list(getattr(key, name).values_list("pk", flat=True))
    return _pks(cast("Iterable[Model | int]", given))


def _scope_join(q: Quoter, name: str, alias: str) -> str:
    """LEFT JOIN of one department scope's table (`name`: read_ or write_departments)."""
    field = ApiKey._meta.get_field(name)
    through = field.remote_field.through  # type: ignore[union-attr]
    own = field.m2m_field_name()  # type: ignore[union-attr]
    return (
        f" LEFT OUTER JOIN {q.table(through)} {alias}"
        f" ON {alias}.{q.column(through, own)} = k.{q.pk(ApiKey)}"
    )


def _scope_column(q: Quoter, name: str, alias: str) -> str:
    field = ApiKey._meta.get_field(name)
    through = field.remote_field.through  # type: ignore[union-attr]
    return f"{alias}.{q.column(through, field.m2m_reverse_field_name())}"  # type: ignore[union-attr]


# The key by its hash with its department scope: a row per pair of read and write
# departments (keys have a few of each). Every key-authenticated call starts here.
_KEY = RowQuery(
    [(ApiKey, "k")],
    lambda q: (
        f"FROM {q.table(ApiKey)} k"
        + _scope_join(q, "read_departments", "r")
        + _scope_join(q, "write_departments", "w")
        + f" WHERE k.{q.column(ApiKey, 'key_hash')} = %s"
    ),
    extra=lambda q: [
        _scope_column(q, "read_departments", "r"),
        _scope_column(q, "write_departments", "w"),
    ],
)


def api_key_find(secret: str) -> ApiKey | None:
    """The key with this secret (in either case, as osTicket compares keys) and its
    department scope, in one query on the indexed hash (see accounts.rows)."""
    if not secret or len(secret) > 128:
        return None
    rows = _KEY.all([api_key_hash(secret)])
    if not rows:
        return None
    key = cast(ApiKey, rows[0][0])
    key.department_scope = (
        frozenset(r[1] for r in rows if r[1] is not None),
        frozenset(r[2] for r in rows if r[2] is not None),
    )
    return key


# --- agent tokens ----------------------------------------------------------------------


def token_create(
    *, actor: Actor, user: User, name: str, expires_at: dt.datetime | None = None
) -> tuple[AgentToken, str]:
    """A personal token for an agent, created by the agent or a helpdesk admin.
    Returns (row, the token itself), shown once."""
    if not is_system(actor):
        if not is_agent(actor):
            raise PermissionRefused("Only agents have API tokens.", code="permission_denied")
        if actor.pk != user.pk and not actor.is_helpdesk_admin:
            raise PermissionRefused(
                "Only helpdesk admins create tokens for others.", code="permission_denied"
            )
    if not (user.is_agent and user.is_active):
        raise ValidationFailed(
            f"{user} is not an active agent.",
            code="not_an_agent",
            fields={"user": ["Not an active agent."]},
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            "The expiry must be in the future.", fields={"expires_at": ["Must be in the future."]}
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = AgentToken.objects.create(
            user=user,
            name=(name or "API token").strip()[:128] or "API token",
            token_hash=secret_hash(secret),
            token_prefix=secret[:12],
            expires_at=expires_at,
        )
        changes = audit.diff({}, audit.snapshot(token))
        audit.record("token.created", actor=actor, target=token, changes=changes)
    return token, secret


def token_revoke(*, actor: Actor, token: AgentToken) -> AgentToken:
    """Revoke a token (its owner, a helpdesk admin or the system), for every channel
    (the API's DELETE, the Django admin's action). Revoking twice changes nothing."""
    if not is_system(actor) and not (
        is_agent(actor) and (actor.pk == token.user_id or actor.is_helpdesk_admin)
    ):
        raise NotVisible("Token not found.", code="token_not_found")
    if token.revoked_at is None:
        with transaction.atomic():
            done = AgentToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            token.refresh_from_db(fields=["revoked_at"])
            if done:
                changes = {
                    "revoked_at": [None, audit.snapshot(token, ["revoked_at"])["revoked_at"]]
                }
                audit.record("token.revoked", actor=actor, target=token, changes=changes)
    return token


_TOKEN = RowQuery(
    [(AgentToken, "t"), (User, "u"), (Role, "r")],
    lambda q: (
        f"FROM {q.table(AgentToken)} t"
        f" INNER JOIN {q.table(User)} u ON u.{q.pk(User)} = t.{q.column(AgentToken, 'user')}"
        f" LEFT OUTER JOIN {q.table(Role)} r ON r.{q.pk(Role)} = u.{q.column(User, 'role')}"
        f" WHERE t.{q.column(AgentToken, 'token_hash')} = %s"
    ),
)


def token_find(secret: str) -> AgentToken | None:
    """The token with this secret, its agent and the agent's role loaded, in one query
    (every token-authenticated API call starts here: see accounts.rows)."""
    if not secret or len(secret) > 256:
        return None
    found = _TOKEN.one([secret_hash(secret)])
    if found is None:
        return None
    token, user, role = cast(tuple[AgentToken, User, Role | None], found)
    user.role = role
    token.user = user
    return token


def tokens_visible_to(*, user: Viewer) -> QuerySet[AgentToken]:
    """Tokens an agent may list: their own; every agent's for helpdesk admins."""
    if not is_agent(user):
        return AgentToken.objects.none()
    qs = AgentToken.objects.select_related("user")
    return qs if user.is_helpdesk_admin else qs.filter(user=user)
