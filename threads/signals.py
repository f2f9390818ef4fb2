"""Signals of the threads app. See docs/signals.md."""

from django.dispatch import Signal

# Sent INSIDE the transaction that records a ThreadEvent (every ticket change records
# one), so a receiver can write rows that commit or roll back with the change: the
# webhook outbox does. Args: event (the ThreadEvent). Receivers must be fast and must
# not do I/O; anything slow is written as an outbox row in this same transaction
# (helpdesk.outbox.services.enqueue), run by a worker or the periodic job after commit.
event_recorded = Signal()

# The same for events written in bulk (the overdue sweep inserts a batch in one
# statement): sent INSIDE that transaction, once per batch. Args: event_ids (list of
# ThreadEvent ids). The webhook outbox treats each event as if event_recorded had been
# sent for it.
events_recorded = Signal()
