"""The common steps of writing a configuration row (a department, a team, a status, a
client's details, ...), for the owning apps' services.

Each app names its own operations (`routing.services.department_save`,
`tickets.services.ticket_status_save`, `accounts.services.user_update`, ...) and every
channel calls those: the API's configuration endpoints and the Django admin's
`save_model`/`delete_model` (accounts.admin_services.ThroughServices). This module
holds what they share: who may write (a helpdesk admin, or an agent holding the
operation's agent-wide permission; the system), the model's own `full_clean()` rules,
one transaction, and a clash or a row still in use turned into a domain error. The
audit entry (accounts.audit: "<kind>.created/updated/deleted", the fields before and
after) is written here, in the change's transaction, once for every channel.

It lives in `accounts` because that is the innermost app, importable by every other one.
"""

from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError

from . import audit
from . import permissions as perms
from .actors import Actor, is_agent, is_api_key, is_system
from .errors import Conflict, PermissionRefused, ValidationFailed

M = TypeVar("M", bound=models.Model)
_M_contra = TypeVar("_M_contra", bound=models.Model, contravariant=True)


class SaveService(Protocol[M]):
    """`<entity>_save(actor=, instance=, data=, m2m=)`: an owning app's configuration
    write, as every channel calls it (the API's configuration endpoints, the admin)."""

    def __call__(
        self,
        *,
        actor: Actor,
        instance: M,
        data: Mapping[str, object] | None = ...,
        m2m: Mapping[str, Iterable[object]] | None = ...,
    ) -> M: ...


class DeleteService(Protocol[_M_contra]):
    """`<entity>_delete(actor=, instance=)`: an owning app's configuration delete."""

    def __call__(self, *, actor: Actor, instance: _M_contra) -> None: ...


def require_admin(actor: Actor, agent_perm: str | None = None) -> None:
    """Helpdesk admins (and the system) write configuration; `agent_perm` names an
    agent-wide permission that also allows it (user.edit, org.edit)."""
    if is_system(actor) and not is_api_key(actor):
        return
    if not is_agent(actor):
        raise PermissionRefused("Only agents change this.", code="permission_denied")
    if actor.is_helpdesk_admin:
        return
    if agent_perm and perms.has_agent_perm(actor, agent_perm):
        return
    needed = f"the {agent_perm} permission" if agent_perm else "a helpdesk admin"
    raise PermissionRefused(
        f"Only {needed} may change this.",
        code="permission_denied",
        extra={"permission": agent_perm} if agent_perm else None,
    )


def validation_failed(exc: DjangoValidationError) -> ValidationFailed:
    """A model's ValidationError as the domain's (field errors kept)."""
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    fields = {("non_field_errors" if k == "__all__" else k): v for k, v in fields.items()}
    return ValidationFailed("; ".join(exc.messages), fields=fields)


def config_save(
    *,
    actor: Actor,
    instance: M,
    data: Mapping[str, object] | None = None,
    m2m: Mapping[str, Iterable[object]] | None = None,
    agent_perm: str | None = None,
) -> M:
    """Set `data` on the row (new or existing), validate it with the model's rules, save
    it and set its many-to-many relations `m2m`, in one transaction."""
    require_admin(actor, agent_perm)
    created = instance._state.adding
    before = audit.stored_snapshot(instance)
    for name, value in (data or {}).items():
        setattr(instance, name, value)
    try:
        instance.full_clean()
    except DjangoValidationError as exc:
        raise validation_failed(exc) from None
    try:
        with transaction.atomic():
            instance.save()
            for name, values in (m2m or {}).items():
                getattr(instance, name).set(values)
            record_saved(actor, instance, before, created=created)
    except IntegrityError:
        raise Conflict("This clashes with an existing row.", code="conflict") from None
    return instance


def config_delete(*, actor: Actor, instance: models.Model, agent_perm: str | None = None) -> None:
    """Delete a row nothing uses any more; one still in use is a Conflict (`in_use`)."""
    require_admin(actor, agent_perm)
    pk, before = instance.pk, audit.full_snapshot(instance)
    try:
        with transaction.atomic():
            instance.delete()
            record_deleted(actor, instance, pk, before)
    except (ProtectedError, RestrictedError, IntegrityError):
        raise Conflict(
            f"{instance} is still in use; deactivate it instead.", code="in_use"
        ) from None


def record_saved(
    actor: Actor | None, instance: models.Model, before: Mapping[str, object], *, created: bool
) -> None:
    """The audit entry of a saved configuration row (none for a save that changed
    nothing): call it inside the save's transaction."""
    changes = audit.diff(before, audit.full_snapshot(instance))
    if changes or created:
        verb = "created" if created else "updated"
        audit.record(
            audit.action_for(instance, verb, changes), actor=actor, target=instance, changes=changes
        )


def record_deleted(
    actor: Actor | None, instance: models.Model, pk: object, before: Mapping[str, object]
) -> None:
    """The audit entry of a deleted row (Django's delete() cleared its primary key: the
    entry names the row that was)."""
    instance.pk = pk
    changes = audit.diff(before, {})
    audit.record(
        audit.action_for(instance, "deleted"), actor=actor, target=instance, changes=changes
    )
