"""Signals of the threads app. See docs/signals.md."""

from django.dispatch import Signal

# Sent INSIDE the transaction that records a ThreadEvent (every ticket change records
# one), so a receiver can write rows that commit or roll back with the change: the
# webhook outbox does. Args: event (the ThreadEvent). Receivers must be fast and must
# not do I/O; anything slow is written as an outbox row in this same transaction
# (helpdesk.outbox.services.enqueue), run by a worker or the periodic job after commit.
event_recorded = Signal()
