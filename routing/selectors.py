"""Reads of routing data."""

from .models import BannedEmail


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


def banned_list(text: str = ""):
    """The ban list (addresses and @domains) by address, filtered by `text`."""
    rows = BannedEmail.objects.order_by("address")
    text = (text or "").strip().lower()
    return rows.filter(address__contains=text) if text else rows
