"""Signals of the accounts app, sent after commit. See docs/signals.md."""

from django.dispatch import Signal

# user: the new User; actor: who created it (a User, or accounts.actors.SYSTEM)
user_created = Signal()
# organization: the new Organization; actor
organization_created = Signal()
