import datetime as dt

import pytest
import time_machine

from accounts.actors import SYSTEM
from accounts.errors import Conflict, PermissionRefused
from threads.models import Draft, Thread
from tickets import services
from tickets.models import TRANSITIONS, State, TicketStatus, transition_permissions

from ..factories import SLAFactory, open_ticket, status

STATE_OF = {
    "Open": "open",
    "Resolved": "closed",
    "Closed": "closed",
    "Archived": "archived",
    "Deleted": "deleted",
}

# from state -> to state: allowed? (written out: the table in tickets.models must match)
EXPECTED = {
    ("open", "open"): True,
    ("open", "closed"): True,
    ("open", "archived"): False,
    ("open", "deleted"): True,
    ("closed", "open"): True,
    ("closed", "closed"): True,
    ("closed", "archived"): True,
    ("closed", "deleted"): True,
    ("archived", "open"): False,
    ("archived", "closed"): True,
    ("archived", "archived"): False,
    ("archived", "deleted"): True,
    ("deleted", "open"): True,
    ("deleted", "closed"): True,
    ("deleted", "archived"): False,
    ("deleted", "deleted"): False,
}


def test_the_transition_table_is_the_documented_one():
    for (src, dst), allowed in EXPECTED.items():
        assert (dst in TRANSITIONS[src]) is allowed, (src, dst)


def _ticket_in(cast, state_status):
    """A ticket brought to a status along legal moves, by an admin."""
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    path = {
        "Open": [],
        "Resolved": ["Resolved"],
        "Closed": ["Closed"],
        "Archived": ["Closed", "Archived"],
        "Deleted": ["Deleted"],
    }[state_status]
    for name in path:
        ticket = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status(name))
    return ticket


@pytest.mark.parametrize("src", list(STATE_OF))
@pytest.mark.parametrize("dst", list(STATE_OF))
def test_every_status_move_follows_the_table(cast, src, dst, nothing_written):
    ticket = _ticket_in(cast, src)
    if src == dst:
        same = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status(dst))
        assert same.version == ticket.version  # nothing to do, nothing recorded
        return
    allowed = EXPECTED[(STATE_OF[src], STATE_OF[dst])]
    if allowed:
        moved = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status(dst))
        assert (moved.status.name, moved.state) == (dst, STATE_OF[dst])
        event = moved.thread.events.filter(kind="status_changed").latest("id")
        assert event.data["before"]["name"] == src and event.data["after"]["name"] == dst
    else:
        with nothing_written(), pytest.raises(Conflict) as exc:
            services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status(dst))
        assert exc.value.code == "transition_not_allowed"
        ticket.refresh_from_db()
        assert ticket.status.name == src


def test_transition_permissions_follow_osticket():
    assert transition_permissions("open", "closed") == {"ticket.close"}
    assert transition_permissions("closed", "open") == {"ticket.close", "ticket.create"}
    assert transition_permissions("open", "open") == {"ticket.close", "ticket.create"}
    assert transition_permissions("closed", "archived") == {"ticket.close"}
    assert transition_permissions("open", "deleted") == {"ticket.delete"}
    assert transition_permissions("deleted", "open") == {"ticket.delete"}


def test_closing_sets_closed_at_clears_overdue_and_drops_drafts(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    Draft.objects.create(
        agent=cast.agent_a, namespace=f"{ticket.draft_namespace}reply", body="half"
    )
    Draft.objects.create(agent=cast.agent_a, namespace="ticket.999999.reply", body="other")
    type(ticket).objects.filter(pk=ticket.pk).update(is_overdue=True)
    closed = services.ticket_set_status(actor=cast.agent_a, ticket=ticket, status=status("Closed"))
    assert closed.closed_at is not None and closed.is_overdue is False
    assert list(Draft.objects.values_list("namespace", flat=True)) == ["ticket.999999.reply"]


def test_reopening_counts_restarts_the_sla_and_clears_answered(cast):
    sla = SLAFactory(grace_hours=2)
    with time_machine.travel(dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC), tick=False):
        ticket = open_ticket(cast.alice, actor=SYSTEM, department=cast.dept_a, sla=sla)
        ticket = services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Fixed.").ticket
        ticket = services.ticket_set_status(
            actor=cast.agent_a, ticket=ticket, status=status("Closed")
        )
    with time_machine.travel(dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC), tick=False):
        ticket = services.ticket_set_status(
            actor=cast.agent_a, ticket=ticket, status=status("Open")
        )
    assert ticket.reopen_count == 1
    assert ticket.reopened_at == dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
    assert ticket.closed_at is None and ticket.is_answered is False
    assert ticket.sla_due_at == dt.datetime(2026, 5, 6, 14, 0, tzinfo=dt.UTC)


def test_a_client_message_reopens_a_closed_ticket_when_its_status_allows(cast):
    ticket = services.ticket_set_status(
        actor=cast.admin,
        ticket=open_ticket(cast.alice, department=cast.dept_a),
        status=status("Closed"),
    )
    posted = services.ticket_post_message(actor=cast.alice, ticket=ticket, body="Still broken.")
    assert posted.ticket.state == State.OPEN and posted.ticket.status.name == "Open"
    assert posted.ticket.reopen_count == 1
    kinds = list(posted.ticket.thread.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == ["status_changed", "message"]


def test_a_closed_status_that_forbids_reopening_refuses_the_message(cast, nothing_written):
    final = TicketStatus.objects.create(
        name="Closed for good", state=State.CLOSED, allow_reopen=False
    )
    ticket = services.ticket_set_status(
        actor=cast.admin, ticket=open_ticket(cast.alice, department=cast.dept_a), status=final
    )
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_post_message(actor=cast.alice, ticket=ticket, body="Hello?")
    assert exc.value.code == "ticket_closed"
    assert ticket.thread.entries.count() == 1


def test_the_reopen_status_of_a_closed_status_is_used(cast):
    pending = TicketStatus.objects.create(name="Customer replied", state=State.OPEN)
    resolved = status("Resolved")
    resolved.reopen_status = pending
    resolved.save()
    ticket = services.ticket_set_status(
        actor=cast.admin, ticket=open_ticket(cast.alice, department=cast.dept_a), status=resolved
    )
    posted = services.ticket_post_message(actor=SYSTEM, ticket=ticket, body="Reply by mail.")
    assert posted.ticket.status == pending


def test_a_reply_on_a_closed_ticket_is_refused_unless_it_reopens_it(cast, nothing_written):
    ticket = services.ticket_set_status(
        actor=cast.admin,
        ticket=open_ticket(cast.alice, department=cast.dept_a),
        status=status("Closed"),
    )
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Hi")
    assert exc.value.code == "ticket_closed"
    assert ticket.thread.entries.count() == 1
    posted = services.ticket_post_reply(
        actor=cast.agent_a, ticket=ticket, body="Reopened.", status=status("Open")
    )
    assert posted.ticket.state == State.OPEN and posted.ticket.is_answered


def test_reply_and_close_in_one_step(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    posted = services.ticket_post_reply(
        actor=cast.agent_a, ticket=ticket, body="Done.", status=status("Resolved")
    )
    assert posted.ticket.state == State.CLOSED
    kinds = list(posted.ticket.thread.events.order_by("id").values_list("kind", flat=True))
    # claimed on reply, then closed: the assignee is referred (auto_refer_closed)
    assert kinds == ["created", "response", "assigned", "status_changed", "referred"]


def test_deleted_tickets_are_kept_in_the_trash_and_restorable(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    deleted = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Deleted"))
    assert type(ticket).objects.filter(pk=ticket.pk, state=State.DELETED).exists()
    assert deleted.thread.entries.count() == 1
    restored = services.ticket_set_status(actor=cast.admin, ticket=deleted, status=status("Open"))
    assert restored.state == State.OPEN and restored.reopen_count == 0


def test_only_admins_purge_and_only_deleted_tickets(cast, nothing_written):
    ticket = open_ticket(cast.alice, department=cast.dept_a, files=[])
    with nothing_written(), pytest.raises(Conflict) as refusal:
        services.tickets_purge(actor=cast.admin, tickets=[ticket])
    assert refusal.value.code == "not_deleted"
    deleted = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Deleted"))
    with nothing_written(), pytest.raises(PermissionRefused) as refusal2:
        services.tickets_purge(actor=cast.agent_a, tickets=[deleted])
    assert refusal2.value.code == "permission_denied"
    assert services.tickets_purge(actor=cast.admin, tickets=[deleted]) == 1
    assert not type(ticket).objects.filter(pk=ticket.pk).exists()
    assert not Thread.objects.filter(pk=ticket.thread_id).exists()
