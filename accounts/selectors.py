"""Reads of identities."""

from django.db.models import Q

from .models import Organization, User


def user_find_by_login(login: str) -> User | None:
    """The account a login string names: an email (primary or extra) or an agent username."""
    login = login.strip()
    if "@" in login:
        return user_find_by_email(login)
    return User.objects.filter(username=login, is_agent=True).first()


def user_find_by_email(email: str) -> User | None:
    email = email.strip().lower()
    return (
        User.objects.filter(Q(email__iexact=email) | Q(extra_emails__email__iexact=email))
        .distinct()
        .first()
    )


def organization_for_email(email: str) -> Organization | None:
    """The organization whose email domains include this address's domain."""
    domain = email.rsplit("@", 1)[-1].strip().lower()
    if not domain:
        return None
    return Organization.objects.filter(domains__domain=domain).first()


def agents_active():
    return User.objects.filter(is_agent=True, is_active=True)
