"""Reads of identities."""

import datetime as dt
import functools
from typing import Any, cast

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from . import permissions as perms
from .actors import is_agent
from .models import PLACEHOLDER_EMAIL, AuditEntry, Organization, User, UserEmail
from .rows import Quoter, RowQuery


def user_find_by_login(login: str) -> User | None:
    """The account a login string names: an email (primary or extra) or an agent username."""
    login = login.strip()
    if "@" in login:
        return user_find_by_email(login)
    return User.objects.filter(username=login, is_agent=True).first()


def users_with_email(email: str) -> QuerySet[User]:
    """Users with this primary or extra address, as a queryset (for subqueries).
    Compared as Lower(email) = address, the very expression the unique constraints
    index, so each probe uses the index (iexact would compile to UPPER(...) and scan)."""
    email = email.strip().lower()
    primary = User.objects.annotate(email_ci=Lower("email")).filter(email_ci=email)
    extra = UserEmail.objects.annotate(email_ci=Lower("email")).filter(email_ci=email)
    ids = primary.order_by().values("pk").union(extra.order_by().values("user_id"))
    return User.objects.filter(pk__in=ids)


@functools.cache
def _by_primary_email() -> tuple[RowQuery, Any]:
    """The user by LOWER(email) (the expression the case-insensitive unique index is
    built on), with their organization and their portal preferences (a reverse
    relation, looked up rather than imported: accounts does not import the portal) in
    the same statement: opening a ticket reads all three. Built on first use, once the
    apps (and so the reverse relation) are loaded."""
    try:
        prefs_rel = User._meta.get_field("portal_preferences")
    except FieldDoesNotExist:  # no portal installed
        prefs_rel = None
    user_table: list[tuple[type[Model], str]] = [(User, "u"), (Organization, "o")]
    if prefs_rel is not None:
        user_table.append((prefs_rel.related_model, "p"))

    def tail(q: Quoter) -> str:
        joins = (
            f"FROM {q.table(User)} u LEFT OUTER JOIN {q.table(Organization)} o"
            f" ON o.{q.pk(Organization)} = u.{q.column(User, 'organization_id')}"
        )
        if prefs_rel is not None:
            prefs = prefs_rel.related_model
            joins += (
                f" LEFT OUTER JOIN {q.table(prefs)} p"
                f" ON p.{q.column(prefs, 'user_id')} = u.{q.pk(User)}"
            )
        return f"{joins} WHERE LOWER(u.{q.column(User, 'email')}) = %s"

    return RowQuery(user_table, tail), prefs_rel


def user_find_by_email(email: str) -> User | None:
    """The user with this primary address, else the one with it as an extra address,
    with their organization and portal preferences loaded (each probe one index
    lookup; the primary one, by far the common case, is written once per process: see
    accounts.rows)."""
    email = email.strip().lower()
    query, prefs_rel = _by_primary_email()
    row = query.one([email])
    if row is not None:
        user = cast(User, row[0])  # the query's first model, always present
        if row[1] is not None:
            User._meta.get_field("organization").set_cached_value(user, row[1])
        if prefs_rel is not None:
            prefs = row[2]
            prefs_rel.set_cached_value(user, prefs)  # None: "has none", no query later
            if prefs is not None:
                prefs_rel.remote_field.set_cached_value(prefs, user)
        return user
    extra = UserEmail.objects.filter(Exact(Lower("email"), email)).values("user_id")
    related = ["organization"]
    if prefs_rel is not None:
        related.append("portal_preferences")
    found = list(User.objects.filter(pk__in=extra).select_related(*related).order_by()[:1])
    return found[0] if found else None


def organization_for_email(email: str) -> Organization | None:
    """The organization whose email domains include this address's domain."""
    domain = email.rsplit("@", 1)[-1].strip().lower()
    if not domain:
        return None
    return Organization.objects.filter(domains__domain=domain).first()


def clients() -> QuerySet[User]:
    """The clients as people: not agents, not the placeholder of deleted users (which
    keeps their tickets but is never listed, picked or edited)."""
    return User.objects.filter(is_agent=False).exclude(email=PLACEHOLDER_EMAIL)


def agents_active() -> QuerySet[User]:
    return User.objects.filter(is_agent=True, is_active=True)


def agents_visible_to(*, user: User) -> QuerySet[User]:
    """The agents an agent may see (osTicket's visibility.agents): every agent for
    helpdesk admins and holders of visibility.agents; otherwise themselves and the
    agents who share a department with them (primary or extra, on either side)."""
    every, departments = agent_visibility(user)
    return agents_visible(every, departments, None if every else user.pk)


def agent_visibility(user: User) -> tuple[bool, frozenset[int]]:
    """What `agents_visible_to(user=user)` is built from besides the user's id: whether
    they see every agent, else their departments."""
    if perms.has_agent_perm(user, "visibility.agents"):
        return True, frozenset()
    return False, frozenset(perms.department_ids(user))


def agents_visible(every: bool, departments: frozenset[int], user_id: int | None) -> QuerySet[User]:
    """`agents_visible_to` of a user whose `agent_visibility` this is, and whose id
    `user_id` is (None when they see every agent)."""
    agents = User.objects.filter(is_agent=True)
    if every:
        return agents
    depts = sorted(departments)
    sharing = User.objects.filter(
        Q(department_id__in=depts) | Q(department_accesses__department_id__in=depts)
    ).values("pk")
    return agents.filter(Q(pk__in=sharing) | Q(pk=user_id))


def audit_entries_visible_to(*, user: object) -> QuerySet[AuditEntry]:
    """The audit log as `user` may read it: all of it for a helpdesk admin, none of it
    for anyone else (agents, clients, keys)."""
    if not (is_agent(user) and user.is_helpdesk_admin):
        return AuditEntry.objects.none()
    return AuditEntry.objects.select_related("target_type")


def audit_entries_filter(
    entries: QuerySet[AuditEntry],
    *,
    actor_id: int | None = None,
    actor_label: str = "",
    kind: str = "",
    target_type: ContentType | None = None,
    target_id: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AuditEntry]:
    """Entries by one actor (a user id, or the name an entry gives a key, the system or a
    command: "command run_cron"), of one kind (the action's "<kind>." prefix, or
    a whole action), about one object (a ContentType and the object's id), at or after
    `since` and before `until`."""
    if actor_id is not None:
        entries = entries.filter(actor_user_id=actor_id)
    if actor_label:
        entries = entries.filter(actor_label=actor_label)
    if kind:
        entries = (
            entries.filter(action=kind)
            if "." in kind
            else entries.filter(action__startswith=f"{kind}.")
        )
    if target_type is not None:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=target_id)
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    return entries
