"""Writes of the tickets app's configuration: statuses and priorities (helpdesk admins),
one operation each for every channel (the API's configuration endpoints, the Django
admin). The common steps are accounts.configuration's."""

from collections.abc import Mapping

from accounts.configuration import config_delete, config_save

from ..models import Priority, TicketStatus


def ticket_status_save(
    *, actor, instance: TicketStatus, data: Mapping | None = None, m2m: Mapping | None = None
) -> TicketStatus:
    """Add (an unsaved `instance`) or change a ticket status."""
    return config_save(actor=actor, instance=instance, data=data, m2m=m2m)


def ticket_status_delete(*, actor, instance: TicketStatus) -> None:
    """Delete a status no ticket, topic or setting uses (`in_use` otherwise)."""
    config_delete(actor=actor, instance=instance)


def priority_save(
    *, actor, instance: Priority, data: Mapping | None = None, m2m: Mapping | None = None
) -> Priority:
    """Add or change a priority."""
    return config_save(actor=actor, instance=instance, data=data, m2m=m2m)


def priority_delete(*, actor, instance: Priority) -> None:
    config_delete(actor=actor, instance=instance)
