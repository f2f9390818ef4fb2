"""Writes of configuration rows (departments, teams, topics, SLAs, statuses, priorities,
and client details) by helpdesk admins through the API.

The owning apps have no services for these yet (the Django admin edits them directly):
these do what the admin does — the model's own `full_clean()` rules, one transaction,
409 for a row still in use — and should move to routing/tickets/accounts services
(reported to the lead).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from accounts import permissions as perms
from accounts.actors import is_agent
from accounts.errors import Conflict, PermissionRefused, ValidationFailed


def require_admin(actor, agent_perm: str | None = None) -> None:
    if not is_agent(actor):
        raise PermissionRefused("Only agents change this.", code="permission_denied")
    if actor.is_helpdesk_admin:
        return
    if agent_perm and perms.has_agent_perm(actor, agent_perm):
        return
    needed = f"the {agent_perm} permission" if agent_perm else "a helpdesk admin"
    raise PermissionRefused(f"Only {needed} may change this.", code="permission_denied")


def config_save(*, actor, instance, data: dict, m2m: dict | None = None, agent_perm=None):
    """Set fields, validate with the model's rules, save (and set many-to-many)."""
    require_admin(actor, agent_perm)
    for name, value in data.items():
        setattr(instance, name, value)
    try:
        instance.full_clean()
    except DjangoValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        fields = {("non_field_errors" if k == "__all__" else k): v for k, v in fields.items()}
        raise ValidationFailed("; ".join(exc.messages), fields=fields) from None
    try:
        with transaction.atomic():
            instance.save()
            for name, values in (m2m or {}).items():
                getattr(instance, name).set(values)
    except IntegrityError:
        raise Conflict("This clashes with an existing row.", code="conflict") from None
    return instance


def config_delete(*, actor, instance) -> None:
    require_admin(actor)
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError, IntegrityError):
        raise Conflict(
            f"{instance} is still in use; deactivate it instead.", code="in_use"
        ) from None
