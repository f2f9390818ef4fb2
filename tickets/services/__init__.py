"""The ticket lifecycle: the only way ticket state changes.

Each function takes keyword arguments and the acting `actor` (accounts.actors.Actor:
an agent, a client, an API key or accounts.actors.SYSTEM), checks the permission
inside (an API key's department scope included), runs in one transaction holding the
ticket's row lock, writes its ThreadEvent, and sends its signal after commit. Panel,
portal, API, email, filters and cron call these.
"""

from ._common import UNSET, Unset, closed_status
from .assignment import ticket_assign, ticket_claim, ticket_refer, ticket_release, ticket_transfer
from .clients import ticket_client_close
from .configuration import (
    priority_delete,
    priority_save,
)
from .entries import (
    Posted,
    Signature,
    signature_choices,
    signature_text,
    ticket_post_message,
    ticket_post_note,
    ticket_post_reply,
)
from .entry_edits import (
    edit_allowed,
    edit_permissions,
    entry_edit,
    entry_edit_refusal,
    entry_of,
    may_edit_entry,
    task_entry_edit,
    ticket_entry_edit,
    ticket_entry_resend,
)
from .fields import ticket_edit, ticket_mark_answered, ticket_set_due_date, ticket_set_priority
from .locks import (
    active_lock,
    locks_purge,
    may_break_lock,
    ticket_lock_acquire,
    ticket_lock_release,
)
from .merging import Participants, ticket_merge, ticket_unmerge
from .opening import NewTicket, ticket_open
from .overdue import tasks_mark_overdue, tickets_mark_overdue
from .relations import (
    ticket_add_collaborator,
    ticket_link,
    ticket_remove_collaborator,
    ticket_unlink,
    tickets_purge,
)
from .split import ticket_split
from .status import close_refusal, ticket_set_status
from .statuses import ticket_status_delete, ticket_status_save
from .tasks import (
    NewTask,
    task_assign,
    task_claim,
    task_close,
    task_create,
    task_delete,
    task_edit,
    task_lock_acquire,
    task_lock_release,
    task_post_update,
    task_release,
    task_reopen,
    task_transfer,
)
from .trash import ticket_delete, trash_status

__all__ = [
    "UNSET",
    "NewTask",
    "NewTicket",
    "Participants",
    "Posted",
    "Signature",
    "Unset",
    "active_lock",
    "close_refusal",
    "closed_status",
    "edit_allowed",
    "edit_permissions",
    "entry_edit",
    "entry_edit_refusal",
    "entry_of",
    "locks_purge",
    "may_break_lock",
    "may_edit_entry",
    "priority_delete",
    "priority_save",
    "signature_choices",
    "signature_text",
    "task_assign",
    "task_claim",
    "task_close",
    "task_create",
    "task_delete",
    "task_edit",
    "task_entry_edit",
    "task_lock_acquire",
    "task_lock_release",
    "task_post_update",
    "task_release",
    "task_reopen",
    "task_transfer",
    "tasks_mark_overdue",
    "ticket_add_collaborator",
    "ticket_assign",
    "ticket_claim",
    "ticket_client_close",
    "ticket_delete",
    "ticket_edit",
    "ticket_entry_edit",
    "ticket_entry_resend",
    "ticket_link",
    "ticket_lock_acquire",
    "ticket_lock_release",
    "ticket_mark_answered",
    "ticket_merge",
    "ticket_open",
    "ticket_post_message",
    "ticket_post_note",
    "ticket_post_reply",
    "ticket_refer",
    "ticket_release",
    "ticket_remove_collaborator",
    "ticket_set_due_date",
    "ticket_set_priority",
    "ticket_set_status",
    "ticket_split",
    "ticket_status_delete",
    "ticket_status_save",
    "ticket_transfer",
    "ticket_unlink",
    "ticket_unmerge",
    "tickets_mark_overdue",
    "tickets_purge",
    "trash_status",
]
