"""Reads of identities."""

import datetime as dt
from typing import cast

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from . import permissions as perms
from .actors import is_agent
from .models import PLACEHOLDER_EMAIL, AuditEntry, Organization, User, UserEmail
from .rows import RowQuery


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


# LOWER(email): the expression the case-insensitive unique index is built on.
_BY_PRIMARY_EMAIL = RowQuery(
    [(User, "u")],
    lambda q: f"FROM {q.table(User)} u WHERE LOWER(u.{q.column(User, 'email')}) = %s",
)


def user_find_by_email(email: str) -> User | None:
    """The user with this primary address, else the one with it as an extra address
    (each probe one index lookup; the primary one, by far the common case, is written
    once per process: see accounts.rows)."""
    email = email.strip().lower()
    row = _BY_PRIMARY_EMAIL.one([email])
    if row is not None:
        return cast(User, row[0])  # the query's one model, always present
    extra = UserEmail.objects.filter(Exact(Lower("email"), email)).values("user_id")
    found = list(User.objects.filter(pk__in=extra).order_by()[:1])
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
    agents = User.objects.filter(is_agent=True)
    if perms.has_agent_perm(user, "visibility.agents"):
        return agents
    depts = perms.department_ids(user)
    sharing = User.objects.filter(
        Q(department_id__in=depts) | Q(department_accesses__department_id__in=depts)
    ).values("pk")
    return agents.filter(Q(pk__in=sharing) | Q(pk=user.pk))


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
