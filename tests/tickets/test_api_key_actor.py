"""An API key is its own kind of actor: the services hold it to its department scope as
they hold an agent to its departments (read scope: sees; write scope: changes and opens,
after routing), whatever surface calls them."""

import pytest

from accounts.actors import SYSTEM, ApiKeyActor, actor_label, is_agent, is_api_key, is_system
from accounts.errors import NotVisible, PermissionRefused
from helpdesk.outbox.models import OutboxTask
from routing.models import FilterAction, FilterRule, TicketFilter
from threads.models import Collaborator, StoredFile, Thread, ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import Ticket
from tickets.selectors import ticket_get_for, tickets_visible_to
from tickets.services._common import channel_of

from ..factories import TeamFactory, TopicFactory, attachment, open_ticket, priority, status


def key(*, read=(), write=(), can_create_tickets=True) -> ApiKeyActor:
    """As accounts.apikeys.actor_for_key builds it: writing implies reading."""
    write_ids = frozenset(d.pk for d in write)
    return ApiKeyActor(
        key_id=7,
        label="API key shop",
        can_create_tickets=can_create_tickets,
        read_departments=frozenset(d.pk for d in read) | write_ids,
        write_departments=write_ids,
    )


def new(cast, **kw) -> services.NewTicket:
    return services.NewTicket(
        requester=cast.alice, subject="Order 42", body="Where is it?", source="api", **kw
    )


def rows() -> dict[str, int]:
    """Everything an opening or a change writes."""
    return {
        "tickets": Ticket.objects.count(),
        "threads": Thread.objects.count(),
        "entries": ThreadEntry.objects.count(),
        "events": ThreadEvent.objects.count(),
        "outbox": OutboxTask.objects.count(),
        "files": StoredFile.objects.count(),
        "collaborators": Collaborator.objects.count(),
    }


# --- the kind ---------------------------------------------------------------------------


def test_a_key_is_its_own_kind_not_the_system(cast):
    shop = key(write=[cast.dept_a])

    assert is_api_key(shop) and not is_system(shop) and not is_agent(shop)
    assert is_system(SYSTEM) and not is_api_key(SYSTEM)
    assert not is_api_key(cast.agent_a) and is_agent(cast.agent_a)
    assert channel_of(shop, None) == "api" and channel_of(SYSTEM, None) == "system"
    assert actor_label(shop) == "API key shop"


# --- opening ----------------------------------------------------------------------------


def test_a_key_opens_a_ticket_in_a_department_it_writes(cast):
    ticket = services.ticket_open(
        actor=key(write=[cast.dept_a]), new=new(cast, department=cast.dept_a)
    )

    assert ticket.department == cast.dept_a
    created = ThreadEvent.objects.get(thread_id=ticket.thread_id, kind="created")
    assert (created.actor, created.actor_label, created.channel) == (None, "API key shop", "api")
    assert ticket.thread.entries.get().poster == cast.alice


def test_a_topic_routing_outside_the_write_scope_is_refused_before_anything_is_written(
    cast, nothing_written
):
    billing = TopicFactory(department=cast.dept_b)
    before = rows()

    with nothing_written(), pytest.raises(PermissionRefused) as refused:
        services.ticket_open(
            actor=key(write=[cast.dept_a]),
            new=new(cast, topic=billing, files=[attachment()]),
        )

    assert refused.value.code == "permission_denied"
    assert str(refused.value) == "This API key's scope in Billing does not allow ticket.create."
    assert rows() == before


def test_a_filter_routing_outside_the_write_scope_is_refused_before_anything_is_written(
    cast, nothing_written
):
    flt = TicketFilter.objects.create(name="Orders to billing")
    FilterRule.objects.create(filter=flt, field="subject", operator="contains", value="order")
    FilterAction.objects.create(filter=flt, kind="department", department=cast.dept_b)
    before = rows()

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_open(actor=key(write=[cast.dept_a]), new=new(cast, department=cast.dept_a))
    assert refusal.value.code == "permission_denied"

    assert rows() == before
    # the same filter sends a key of Billing's ticket where it may write
    opened = services.ticket_open(
        actor=key(write=[cast.dept_b]), new=new(cast, department=cast.dept_a)
    )
    assert opened.department == cast.dept_b


def test_a_key_reading_a_department_may_not_open_there(cast, nothing_written):
    before = rows()

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_open(
            actor=key(read=[cast.dept_a], write=[cast.dept_b]),
            new=new(cast, department=cast.dept_a),
        )
    assert refusal.value.code == "permission_denied"

    assert rows() == before


def test_a_key_without_the_create_capability_opens_nothing(cast, nothing_written):
    before = rows()

    with nothing_written(), pytest.raises(PermissionRefused) as refused:
        services.ticket_open(
            actor=key(write=[cast.dept_a], can_create_tickets=False),
            new=new(cast, department=cast.dept_a),
        )

    assert str(refused.value) == "This API key may not create tickets."
    assert rows() == before


# --- reading ----------------------------------------------------------------------------


def test_a_key_reads_only_its_read_departments(cast, nothing_written):
    in_a = open_ticket(cast.alice, department=cast.dept_a)
    in_b = open_ticket(cast.bob, department=cast.dept_b)
    reader = key(read=[cast.dept_a])

    assert list(tickets_visible_to(user=reader)) == [in_a]
    assert ticket_get_for(user=reader, number=in_a.number) == in_a
    with nothing_written(), pytest.raises(NotVisible) as refusal:
        ticket_get_for(user=reader, number=in_b.number)
    assert refusal.value.code == "ticket_not_found"
    writer = key(write=[cast.dept_a])
    # not even a note on a ticket it cannot see
    with nothing_written(), pytest.raises(NotVisible) as refusal2:
        services.ticket_post_note(actor=writer, ticket=in_b, body="x")
    assert refusal2.value.code == "ticket_not_found"


# --- changing ---------------------------------------------------------------------------

# what each change needs, as the refusal names it
NEEDS = {
    "reply": "ticket.reply",
    "message": "changes",
    "note": "changes",
    "status": "ticket.close",
    "assign": "ticket.assign",
    "priority": "ticket.edit",
    "collaborator": "ticket.edit",
    "transfer": "ticket.transfer",
}
CHANGES = {
    "reply": lambda k, t, c: services.ticket_post_reply(actor=k, ticket=t, body="Shipped."),
    "message": lambda k, t, c: services.ticket_post_message(actor=k, ticket=t, body="News?"),
    "note": lambda k, t, c: services.ticket_post_note(actor=k, ticket=t, body="Called."),
    "status": lambda k, t, c: services.ticket_set_status(
        actor=k, ticket=t, status=status("Closed")
    ),
    "assign": lambda k, t, c: services.ticket_assign(actor=k, ticket=t, agent=c.agent_a),
    "priority": lambda k, t, c: services.ticket_set_priority(
        actor=k, ticket=t, priority=priority("High")
    ),
    "collaborator": lambda k, t, c: services.ticket_add_collaborator(actor=k, ticket=t, user=c.bob),
    "transfer": lambda k, t, c: services.ticket_transfer(actor=k, ticket=t, department=c.dept_b),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_key_that_only_reads_a_department_changes_nothing_there(cast, change, nothing_written):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    reader = key(read=[cast.dept_a], write=[cast.dept_b])
    before, version = rows(), ticket.version

    with nothing_written(), pytest.raises(PermissionRefused) as refused:
        CHANGES[change](reader, ticket, cast)

    assert str(refused.value) == (
        f"This API key's scope in Support does not allow {NEEDS[change]}."
    )
    assert rows() == before
    ticket.refresh_from_db()
    assert ticket.version == version and ticket.department == cast.dept_a


def test_a_key_changes_tickets_of_its_write_departments(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    writer = key(write=[cast.dept_a])

    posted = services.ticket_post_reply(actor=writer, ticket=ticket, body="Shipped.")
    note = services.ticket_post_note(actor=writer, ticket=ticket, body="Tracking 123.").entry
    services.ticket_assign(actor=writer, ticket=ticket, team=TeamFactory())
    closed = services.ticket_set_status(actor=writer, ticket=ticket, status=status("Closed"))

    assert posted.entry.poster_name == "API key shop" and posted.entry.poster is None
    assert not note.is_system  # a key's note is an integration's, not the system's
    assert closed.state == "closed"
    events = ThreadEvent.objects.filter(thread_id=ticket.thread_id).exclude(kind="created")
    assert {e.actor_label for e in events} == {"API key shop"}


def test_a_key_transfers_only_into_its_write_scope(cast, nothing_written):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    before = rows()

    with nothing_written(), pytest.raises(PermissionRefused) as refused:
        services.ticket_transfer(
            actor=key(write=[cast.dept_a]), ticket=ticket, department=cast.dept_b
        )

    assert str(refused.value) == "This API key's scope in Billing does not allow ticket.transfer."
    assert rows() == before
    moved = services.ticket_transfer(
        actor=key(write=[cast.dept_a, cast.dept_b]), ticket=ticket, department=cast.dept_b
    )
    assert moved.department == cast.dept_b


def test_a_key_never_purges(cast, nothing_written):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    services.ticket_set_status(actor=SYSTEM, ticket=ticket, status=status("Deleted"))

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.tickets_purge(actor=key(write=[cast.dept_a]), tickets=[ticket])
    assert refusal.value.code == "permission_denied"

    assert Ticket.objects.filter(pk=ticket.pk).exists()
