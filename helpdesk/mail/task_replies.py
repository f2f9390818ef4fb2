"""An agent answering mail about a task: the reply is posted to the task as an update
(`task_post_update`, channel email, with its attachments), as the agent, when the agent
may (task.reply in the task's department; the task service decides).

Tasks never involve a client, so nothing else is taken: mail from anyone who is not an
active agent, from an unverified sender, or refused by the service (no permission, the
task deleted, locked by another agent, nothing in it) is parked with the reason, for an
admin to look at (and process again once fixed). Nothing of it is posted anywhere, and
it never opens a ticket. An automatic reply (an out-of-office) is dropped.
"""

from accounts.errors import DomainError
from threads.models import ThreadEntry
from tickets import services as tickets
from tickets.models import Task

from .models import InboundMessage

S = InboundMessage.Status


def task_reply(ctx, task: Task, sender):
    """The outcome (route.Outcome) of a message answering mail about `task`."""
    from .route import Outcome, _body

    parsed, name = ctx.parsed, f"task #{task.number}"
    if not ctx.verdict.accepted:
        why = f"Unverified sender ({ctx.verdict.reason}): a reply to {name} is taken only "
        return Outcome(S.PARKED, reason=why + "from a verified agent; not posted.")
    if sender is None or not (sender.is_agent and sender.is_active):
        why = f"{parsed.sender_email} is not an agent: replies to {name} are taken from "
        return Outcome(S.PARKED, reason=why + "agents only; not posted.")
    if ctx.departments is not None and task.department_id not in ctx.departments:
        why = f"The API key that posted it may not write to the department of {name}"
        return Outcome(S.PARKED, reason=why + "; not posted.")
    if parsed.auto_reason:
        return Outcome(S.DROPPED, reason=f"Automatic reply ({parsed.auto_reason}) to {name}.")
    try:
        entry = tickets.task_post_update(
            actor=sender,
            task=task,
            body=_body(parsed, strip=True, config=ctx.config),
            fmt=parsed.fmt,
            files=parsed.attachments,
            source=ThreadEntry.Source.EMAIL,
            channel=ctx.channel,
        )
    except DomainError as exc:
        return Outcome(S.PARKED, reason=f"Not posted to {name}: {exc.message}")
    return Outcome(S.APPENDED, None, entry, reason=f"Update on {name} by email.")
