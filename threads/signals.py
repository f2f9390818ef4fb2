"""Signals of the threads app. See docs/signals.md."""

from django.dispatch import Signal

# Sent INSIDE the transaction that records a ThreadEvent (every ticket change records
# one), so a receiver can write rows that commit or roll back with the change: the
# webhook outbox does. Args: event (the ThreadEvent). Receivers must be fast and must
# not do I/O; anything slow goes to a Celery task enqueued with transaction.on_commit.
event_recorded = Signal()
