"""Reads of routing data."""

from .models import BannedEmail


def email_is_banned(email: str) -> bool:
    """Is this sender on the ban list, by address or by @domain?"""
    email = (email or "").strip().lower()
    if "@" not in email:
        return False
    domain = "@" + email.rsplit("@", 1)[1]
    return BannedEmail.objects.filter(address__in=[email, domain]).exists()
