"""Reads of routing data."""

from django.db.models import QuerySet

from accounts import permissions as perms
from accounts.models import User

from .models import BannedEmail, Department


def banned_addresses() -> frozenset[str]:
    """The whole ban list (addresses and @domains), for a cached snapshot."""
    addresses = BannedEmail.objects.values_list("address", flat=True)
    return frozenset(a.strip().lower() for a in addresses)


def email_is_banned(email: str, banned: frozenset[str] | None = None) -> bool:
    """Is this sender on the ban list, by address or by @domain? `banned`: the list as
    banned_addresses() gave it (tickets.config caches it), else one query."""
    email = (email or "").strip().lower()
    if "@" not in email:
        return False
    domain = "@" + email.rsplit("@", 1)[1]
    if banned is not None:
        return email in banned or domain in banned
    return BannedEmail.objects.filter(address__in=[email, domain]).exists()


def banned_list(text: str = "") -> QuerySet[BannedEmail]:
    """The ban list (addresses and @domains) by address, filtered by `text`."""
    rows = BannedEmail.objects.order_by("address")
    text = (text or "").strip().lower()
    return rows.filter(address__contains=text) if text else rows


def departments_visible_to(*, user: User) -> QuerySet[Department]:
    """The departments an agent may see in pickers and lists (osTicket's
    visibility.departments): every one for helpdesk admins and holders of the
    permission, otherwise those they work in (primary and extra)."""
    if perms.has_agent_perm(user, "visibility.departments"):
        return Department.objects.all()
    return Department.objects.filter(pk__in=perms.department_ids(user))
