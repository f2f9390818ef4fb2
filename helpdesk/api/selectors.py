"""Reads for the API caller. Agents, clients and API keys alike go through the one
visibility selector, tickets.selectors (a key sees the departments of its read scope);
what a caller may change is decided by the services (tickets.permissions), for a key
as for an agent.
"""

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from accounts.actors import Viewer, is_agent, is_api_key
from accounts.errors import NotVisible
from tickets.models import Task, TaskFieldValue, Ticket
from tickets.selectors import (
    task_get_for,
    tasks_visible_to,
    tickets_readable_by,
    tickets_visible_to,
)

# Joined in the ticket query: few, because PostgreSQL's planning time grows fast with
# joins (all ten took 17 ms to plan, longer than running the query). The small
# configuration rows come by prefetch: one cheap query each, whatever the page size.
TICKET_JOINED = ("requester", "status", "priority")
TICKET_PREFETCHED = (
    "department",
    "topic",
    "sla",
    "organization",
    "assignee",
    "team",
    "merged_into",
)


def with_related(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return queryset.select_related(*TICKET_JOINED).prefetch_related(*TICKET_PREFETCHED)


def tickets_for(caller: Viewer) -> QuerySet[Ticket]:
    return tickets_visible_to(user=caller)


def ticket_for(caller: Viewer, number: str) -> Ticket:
    """A ticket the caller may see, else NotVisible (404): as `ticket_get_for`, one an
    agent with search.all may find (tickets_readable_by), while lists stay
    `tickets_for`."""
    ticket = with_related(tickets_readable_by(user=caller)).filter(number=number).first()
    if ticket is None:
        raise NotVisible("Ticket not found.", code="ticket_not_found")
    return ticket


def includes_notes(caller: Viewer) -> bool:
    """Internal notes are for agents (and keys acting for the helpdesk), never clients."""
    return is_api_key(caller) or is_agent(caller)


# A task answers with a few configuration rows and people (one query each, whatever
# the page size), its ticket's number and its custom field values.
TASK_PREFETCHED = (
    "department",
    "assignee",
    "team",
    "created_by",
    Prefetch("ticket", queryset=Ticket.objects.only("number")),
    Prefetch("field_values", queryset=TaskFieldValue.objects.select_related("field")),
)


def with_task_related(queryset: QuerySet[Task]) -> QuerySet[Task]:
    return queryset.prefetch_related(*TASK_PREFETCHED)


def tasks_for(caller: Viewer) -> QuerySet[Task]:
    return tasks_visible_to(user=caller)


def task_for(caller: Viewer, number: str) -> Task:
    """A task the caller may see, else NotVisible (404), with what it answers with."""
    task = task_get_for(user=caller, number=number)
    prefetch_related_objects([task], "created_by", TASK_PREFETCHED[-1])
    return task
