"""Each seeded role x each action -> allowed, or refused with the reason.

The expected table is written out (from osTicket's role.yaml, minus tasks), not derived
from the code, so a wrong role definition or a wrong gate fails here.
"""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.errors import NotVisible, PermissionRefused
from threads.models import ThreadEvent
from tickets import services
from tickets.models import HelpdeskSettings

from ..factories import (
    AgentFactory,
    ClientFactory,
    DepartmentFactory,
    open_ticket,
    priority,
    role,
    status,
)

ROLES = ["All Access", "Expanded Access", "Limited Access", "View only"]

# action: (permission named in the refusal, allowed for All, Expanded, Limited, View only)
MATRIX = {
    "create": ("ticket.create", (True, True, True, False)),
    "edit": ("ticket.edit", (True, True, False, False)),
    "priority": ("ticket.edit", (True, True, False, False)),
    "due_date": ("ticket.edit", (True, True, False, False)),
    "add_collaborator": ("ticket.edit", (True, True, False, False)),
    "assign": ("ticket.assign", (True, True, True, False)),
    "claim": ("ticket.assign", (True, True, True, False)),
    "release": ("ticket.release", (True, True, True, False)),
    "transfer": ("ticket.transfer", (True, True, True, False)),
    "refer": ("ticket.refer", (True, True, True, False)),
    "merge": ("ticket.merge", (True, True, True, False)),
    "link": ("ticket.link", (True, True, True, False)),
    "reply": ("ticket.reply", (True, True, True, False)),
    "mark_answered": ("ticket.markanswered", (True, False, False, False)),
    "close": ("ticket.close", (True, True, False, False)),
    "reopen": ("ticket.close or ticket.create", (True, True, True, False)),
    "delete": ("ticket.delete", (True, False, False, False)),
    "note": (None, (True, True, True, True)),
}


def _setup(action, cast, ticket):
    """Bring the ticket into the state the action needs, as an admin would."""
    if action == "release":
        return services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_a)
    if action == "reopen":
        return services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Closed"))
    return ticket


def _other(action, cast):
    """The second ticket a merge or a link needs, opened before the action."""
    subjects = {"merge": "Duplicate", "link": "Related"}
    if action in subjects:
        return open_ticket(cast.alice, department=cast.dept_a, subject=subjects[action])
    return None


def _do(action, actor, cast, ticket, other=None):
    match action:
        case "create":
            return open_ticket(cast.alice, actor=actor, department=cast.dept_a)
        case "edit":
            return services.ticket_edit(actor=actor, ticket=ticket, subject="New subject")
        case "priority":
            return services.ticket_set_priority(
                actor=actor, ticket=ticket, priority=priority("High")
            )
        case "due_date":
            due = timezone.now() + dt.timedelta(days=2)
            return services.ticket_set_due_date(actor=actor, ticket=ticket, due_at=due)
        case "add_collaborator":
            return services.ticket_add_collaborator(actor=actor, ticket=ticket, user=cast.bob)
        case "assign":
            return services.ticket_assign(actor=actor, ticket=ticket, agent=cast.agent_a)
        case "claim":
            return services.ticket_claim(actor=actor, ticket=ticket)
        case "release":
            return services.ticket_release(actor=actor, ticket=ticket)
        case "transfer":
            return services.ticket_transfer(actor=actor, ticket=ticket, department=cast.dept_b)
        case "refer":
            return services.ticket_refer(actor=actor, ticket=ticket, department=cast.dept_b)
        case "merge":
            return services.ticket_merge(actor=actor, ticket=ticket, sources=[other])
        case "link":
            return services.ticket_link(actor=actor, ticket=ticket, other=other)
        case "reply":
            return services.ticket_post_reply(actor=actor, ticket=ticket, body="On it.")
        case "mark_answered":
            return services.ticket_mark_answered(actor=actor, ticket=ticket, answered=True)
        case "close":
            return services.ticket_set_status(actor=actor, ticket=ticket, status=status("Closed"))
        case "reopen":
            return services.ticket_set_status(actor=actor, ticket=ticket, status=status("Open"))
        case "delete":
            return services.ticket_set_status(actor=actor, ticket=ticket, status=status("Deleted"))
        case "note":
            return services.ticket_post_note(actor=actor, ticket=ticket, body="Internal.")
    raise AssertionError(action)


CASES = [
    pytest.param(action, role_name, allowed[i], perm, id=f"{action}-{role_name}")
    for action, (perm, allowed) in MATRIX.items()
    for i, role_name in enumerate(ROLES)
]


@pytest.mark.parametrize(("action", "role_name", "allowed", "perm"), CASES)
def test_role_permission_matrix(cast, action, role_name, allowed, perm, nothing_written):
    actor = AgentFactory(department=cast.dept_a, role=role(role_name))
    ticket = _setup(action, cast, open_ticket(cast.alice, department=cast.dept_a))
    ticket.refresh_from_db()
    other = _other(action, cast)
    events_before = ThreadEvent.objects.count()

    if allowed:
        _do(action, actor, cast, ticket, other)
        assert ThreadEvent.objects.count() > events_before
        return

    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        _do(action, actor, cast, ticket, other)
    assert exc.value.code == "permission_denied"
    assert str(exc.value) == f"Your role in Support does not allow {perm}."


def test_the_department_manager_may_release_and_mark_answered_without_the_role(
    cast, nothing_written
):
    manager = AgentFactory(department=cast.dept_a, role=role("View only"))
    cast.dept_a.manager = manager
    cast.dept_a.save()
    ticket = services.ticket_assign(
        actor=cast.admin, ticket=open_ticket(cast.alice, department=cast.dept_a), agent=cast.agent_a
    )
    ticket = services.ticket_release(actor=manager, ticket=ticket)
    ticket = services.ticket_mark_answered(actor=manager, ticket=ticket, answered=True)
    assert (ticket.assignee, ticket.is_answered) == (None, True)
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_post_reply(actor=manager, ticket=ticket, body="x")
    assert refusal.value.code == "permission_denied"


@pytest.mark.parametrize("action", [a for a in MATRIX if a != "create"])
def test_an_agent_of_another_department_does_not_even_see_the_ticket(cast, action, nothing_written):
    ticket = _setup(action, cast, open_ticket(cast.alice, department=cast.dept_a))
    other = _other(action, cast)
    with nothing_written(), pytest.raises(NotVisible) as refusal:
        _do(action, cast.agent_b, cast, ticket, other)
    assert refusal.value.code == "ticket_not_found"


@pytest.mark.parametrize("action", [a for a in MATRIX if a != "create"])
def test_a_client_who_sees_the_ticket_holds_no_agent_permission(cast, action, nothing_written):
    """alice's colleague sees her ticket through the organization, and may do none of this."""
    ticket = _setup(action, cast, open_ticket(cast.alice, department=cast.dept_a))
    other = _other(action, cast)
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        _do(action, cast.alice_colleague, cast, ticket, other)
    assert refusal.value.code == "permission_denied"


def test_extra_department_access_uses_that_departments_role(cast, nothing_written):
    agent = AgentFactory(
        department=cast.dept_b,
        role=role("All Access"),
        extra_departments={cast.dept_a: "View only"},
    )
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    services.ticket_post_note(actor=agent, ticket=ticket, body="I can see it.")
    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        services.ticket_post_reply(actor=agent, ticket=ticket, body="But not answer.")
    assert str(exc.value) == "Your role in Support does not allow ticket.reply."


def test_an_assignee_outside_the_department_works_with_their_primary_role(cast):
    ticket = services.ticket_assign(
        actor=cast.admin, ticket=open_ticket(cast.alice, department=cast.dept_a), agent=cast.agent_b
    )
    posted = services.ticket_post_reply(
        actor=cast.agent_b, ticket=ticket, body="Answered from Billing."
    )
    assert posted.entry.poster == cast.agent_b


def test_a_referral_gives_sight_and_notes_but_no_role(cast, nothing_written):
    ticket = services.ticket_refer(
        actor=cast.admin, ticket=open_ticket(cast.alice, department=cast.dept_a), agent=cast.agent_b
    )
    services.ticket_post_note(actor=cast.agent_b, ticket=ticket, body="Looking.")
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_post_reply(actor=cast.agent_b, ticket=ticket, body="No.")
    assert refusal.value.code == "permission_denied"


def test_helpdesk_admins_may_do_anything_anywhere(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_b)
    services.ticket_post_reply(actor=cast.admin, ticket=ticket, body="Admin answer.")
    deleted = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Deleted"))
    assert deleted.state == "deleted"


def test_an_inactive_agent_holds_nothing(cast, nothing_written):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    cast.agent_a.is_active = False
    cast.agent_a.save()
    with nothing_written(), pytest.raises(NotVisible) as refusal:
        services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="x")
    assert refusal.value.code == "ticket_not_found"


def test_the_refer_permission_really_gates_referrals(cast, nothing_written):
    """Unlike osTicket, where ticket.refer only hides the menu item."""
    no_refer = role("Expanded Access")
    no_refer.permissions = [p for p in no_refer.permissions if p != "ticket.refer"]
    no_refer.save()
    agent = AgentFactory(department=cast.dept_a, role=no_refer)
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    elsewhere = DepartmentFactory()
    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        services.ticket_refer(actor=agent, ticket=ticket, department=elsewhere)
    assert str(exc.value) == "Your role in Support does not allow ticket.refer."
    assert not ticket.thread.referrals.exists()


def test_clients_may_close_their_own_ticket_when_the_setting_allows(cast, nothing_written):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    # alice's colleague sees it through the organization, but it is not hers
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_set_status(
            actor=cast.alice_colleague, ticket=ticket, status=status("Closed")
        )
    assert refusal.value.code == "permission_denied"
    closed = services.ticket_set_status(actor=cast.alice, ticket=ticket, status=status("Closed"))
    assert closed.state == "closed"
    HelpdeskSettings.objects.filter(pk=1).update(clients_can_close=False)
    other = open_ticket(cast.alice, department=cast.dept_a)
    with nothing_written(), pytest.raises(PermissionRefused) as refusal2:
        services.ticket_set_status(actor=cast.alice, ticket=other, status=status("Closed"))
    assert refusal2.value.code == "permission_denied"
    someone = ClientFactory()
    with nothing_written(), pytest.raises(NotVisible) as refusal3:
        services.ticket_set_status(actor=someone, ticket=other, status=status("Closed"))
    assert refusal3.value.code == "ticket_not_found"
