"""A client's own account: name and time zone, password, and further email addresses.

Every channel that lets clients edit themselves (the portal's profile page) calls these;
each acts on the actor's own record only. Adding an address is the last step of a
verification its caller ran (the portal mails a signed link to the address first).
"""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from . import audit
from .actors import Actor, is_client
from .errors import Conflict, NotVisible, PermissionRefused, ValidationFailed
from .models import TIMEZONE_CHOICES, User, UserEmail
from .selectors import user_find_by_email
from .services import _clean_email

MAX_EXTRA_EMAILS = 10
_ZONES = frozenset(zone for zone, _label in TIMEZONE_CHOICES)


def require_client(actor: Actor) -> User:
    if not (is_client(actor) and actor.is_active):
        raise PermissionRefused("Only clients edit their profile here.", code="permission_denied")
    return actor


def client_profile_update(*, actor: Actor, name: str, timezone: str) -> User:
    """The client's own name and time zone."""
    user = require_client(actor)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("Enter your name.", fields={"name": ["Enter your name."]})
    if timezone not in _ZONES:
        raise ValidationFailed(
            "Choose a time zone from the list.",
            code="invalid_timezone",
            fields={"timezone": ["Choose a time zone from the list."]},
        )
    before = audit.snapshot(user, ["name", "timezone"])
    user.name, user.timezone = name[:128], timezone
    with transaction.atomic():
        user.save(update_fields=["name", "timezone", "updated_at"])
        changes = audit.diff(before, audit.snapshot(user, ["name", "timezone"]))
        if changes:
            audit.record("account.updated", actor=actor, target=user, changes=changes)
    return user


def client_password_change(*, actor: Actor, old_password: str, new_password: str) -> User:
    """A new password for the client, who proves the current one; the site's password
    rules apply. (The caller keeps the session signed in: update_session_auth_hash.)"""
    user = require_client(actor)
    if not user.has_usable_password() or not user.check_password(old_password or ""):
        raise ValidationFailed(
            "Your current password was entered incorrectly.",
            code="wrong_password",
            fields={"old_password": ["Your current password was entered incorrectly."]},
        )
    try:
        password_validation.validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages), code="weak_password", fields={"new_password1": exc.messages}
        ) from None
    user.set_password(new_password)
    with transaction.atomic():
        user.save(update_fields=["password", "updated_at"])
        audit.record(
            "account.password_changed",
            actor=actor,
            target=user,
            changes={"password": [audit.MASK, audit.MASK]},
            detail="own change",
        )
    return user


def user_email_add(*, actor: Actor, email: str) -> UserEmail:
    """A further address of the client (mail from it reaches their tickets), once they
    proved they read it. Refused when any account has it already."""
    user = require_client(actor)
    email = _clean_email(email)
    taken = Conflict(
        "This address belongs to an account already.",
        code="email_taken",
        fields={"email": ["This address belongs to an account already."]},
    )
    if user_find_by_email(email) is not None:
        raise taken
    if user.extra_emails.count() >= MAX_EXTRA_EMAILS:
        raise ValidationFailed(
            f"An account has at most {MAX_EXTRA_EMAILS} further addresses.",
            code="too_many_emails",
            fields={"email": [f"An account has at most {MAX_EXTRA_EMAILS} further addresses."]},
        )
    try:
        with transaction.atomic():
            added = UserEmail.objects.create(user=user, email=email)
            changes = {"emails": [None, email]}
            audit.record("account.updated", actor=actor, target=user, changes=changes)
            return added
    except IntegrityError:  # added by a concurrent request
        raise taken from None


def user_email_remove(*, actor: Actor, email_id: int) -> None:
    """Remove one of the client's further addresses (the primary one stays)."""
    user = require_client(actor)
    with transaction.atomic():
        row = UserEmail.objects.filter(pk=email_id, user=user).first()
        if row is None:
            raise NotVisible("No such address.", code="email_not_found")
        row.delete()
        changes = {"emails": [row.email, None]}
        audit.record("account.updated", actor=actor, target=user, changes=changes)
