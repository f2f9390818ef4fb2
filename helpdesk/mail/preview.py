"""The values a template preview is rendered with: a real ticket the admin chose (seen
through the same selector as every surface), or the sample ticket."""

from tickets.models import Ticket

from . import templates
from .outbound import CLIENT_TEMPLATES, entry_values, ticket_url, ticket_values


def context_for(code: str, ticket: Ticket | None) -> dict:
    """The variables of template `code` for `ticket` (None: the sample ticket), as the
    client (or, for an alert, an agent) would get them; what the ticket does not say
    (the agent, a previous department) keeps its sample value."""
    context = templates.sample_context(code)
    if ticket is None:
        return context
    for_agent = code not in CLIENT_TEMPLATES
    entry = ticket.thread.entries.order_by("-created_at", "-id").first()
    context.update(
        recipient={"name": ticket.requester.display_name, "email": ticket.requester.email},
        department={"name": ticket.department.name},
        signature=getattr(ticket.department, "signature", "") or "",
        url=ticket_url(ticket, for_agent=for_agent),
        entry=entry_values(entry, for_agent=for_agent) or context["entry"],
    )
    if code.startswith("task."):
        context["task"] = {**context["task"], "ticket": ticket.number}
    else:
        context["ticket"] = ticket_values(ticket)
    return context
