"""The ticket signals: our published bus (osTicket's Signal::send). See docs/signals.md.

All are sent after the change commits (accounts.bus.send_on_commit), with keyword
arguments `ticket` (the changed Ticket), `actor` (a User or accounts.actors.SYSTEM)
and `channel` (threads.models.Channel), plus those listed per signal. The one
exception is `ticket_pre_open`, sent inside `ticket_open` before anything is written.
"""

from django.dispatch import Signal

# Before a ticket is opened. Args: data (a mutable dict: subject, body, requester,
# topic, department, priority, sla, status, assignee, team, source, autorespond, alert),
# actor, channel. A receiver may change `data`, or raise accounts.errors.PermissionRefused
# (code "rejected") to refuse the ticket. Runs inside the operation: be fast.
ticket_pre_open = Signal()

ticket_created = Signal()  # + entry (the first message), autorespond, alert
ticket_message_posted = Signal()  # + entry, reopened (bool)
ticket_reply_posted = Signal()  # + entry
# A response mailed again (Resend, or Edit and resend): + entry (as it reads now)
ticket_reply_resent = Signal()
ticket_note_posted = Signal()  # + entry
ticket_assigned = Signal()  # + agent, team, claimed (bool), previous_agent, previous_team
ticket_released = Signal()  # + previous_agent, previous_team
ticket_transferred = Signal()  # + previous_department, department
ticket_referred = Signal()  # + referral
ticket_status_changed = Signal()  # + previous_status, status
ticket_priority_changed = Signal()  # + previous_priority, priority
ticket_due_date_changed = Signal()  # + previous_due_at, due_at
ticket_answered_changed = Signal()  # + answered (bool)
ticket_edited = Signal()  # + changes ({field: [before, after]})
ticket_merged = Signal()  # + sources (the tickets merged into `ticket`), mode
# + parent (the ticket `ticket` was merged into), mode, entries (how many moved back)
ticket_unmerged = Signal()
# Sent for the source ticket of "create ticket from this entry": + entry, new_ticket
ticket_split = Signal()
ticket_linked = Signal()  # + other
ticket_unlinked = Signal()  # + other
ticket_collaborator_added = Signal()  # + user
ticket_collaborator_removed = Signal()  # + user
# Sent by the overdue sweep once per batch (not per ticket, so a sweep over a million
# tickets stays set-based): ticket_ids (the tickets just marked overdue, each once),
# actor (SYSTEM), channel ("system"). No `ticket` argument.
tickets_overdue = Signal()

# --- tasks: sent after commit with `task` (the changed Task), `actor` and `channel` ----
task_created = Signal()  # + entry (the description, or None)
task_edited = Signal()  # + changes ({field: [before, after]})
task_assigned = Signal()  # + agent, team, claimed (bool), previous_agent, previous_team
task_released = Signal()  # + previous_agent, previous_team
task_transferred = Signal()  # + previous_department, department
task_note_posted = Signal()  # + entry (an update: internal, agents only)
task_closed = Signal()
task_reopened = Signal()
task_deleted = Signal()
# As tickets_overdue, once per batch of the sweep: task_ids, actor (SYSTEM), channel.
tasks_overdue = Signal()
