"""Receivers of the domain signals. They never do slow work inline: they enqueue Celery
tasks (the signals themselves are sent after commit). The email, webhook and
notification work adds its receivers here."""

import logging

from django.dispatch import Signal

from tickets import signals as ticket_signals

audit_log = logging.getLogger("helpdesk.audit")


def log_change(sender, signal: Signal, ticket, actor, channel, **kwargs):
    """One line per committed ticket change, for operators' logs."""
    audit_log.info(
        "%s #%s by %s via %s", SIGNAL_NAMES.get(signal, "?"), ticket.number, actor, channel
    )


SIGNAL_NAMES = {
    getattr(ticket_signals, name): name
    for name in dir(ticket_signals)
    if name.startswith("ticket_") and name != "ticket_pre_open"  # tickets_overdue has no ticket
}
for _signal, _name in SIGNAL_NAMES.items():
    _signal.connect(log_change, dispatch_uid=f"helpdesk.audit.{_name}")
