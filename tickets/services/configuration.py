"""Writes of the tickets app's configuration: priorities (helpdesk admins; statuses are
tickets.services.statuses, their state being mirrored by the tickets),
one operation each for every channel (the API's configuration endpoints, the Django
admin). The common steps are accounts.configuration's."""

from collections.abc import Iterable, Mapping

from accounts.actors import Actor
from accounts.configuration import config_delete, config_save

from ..models import Priority


def priority_save(
    *,
    actor: Actor,
    instance: Priority,
    data: Mapping[str, object] | None = None,
    m2m: Mapping[str, Iterable[object]] | None = None,
) -> Priority:
    """Add or change a priority."""
    return config_save(actor=actor, instance=instance, data=data, m2m=m2m)


def priority_delete(*, actor: Actor, instance: Priority) -> None:
    config_delete(actor=actor, instance=instance)
