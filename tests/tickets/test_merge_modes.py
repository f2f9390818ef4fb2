"""Merging in osTicket's modes (combine, separate, link) and undoing it
(tickets.services.merging)."""

import pytest

from accounts.errors import Conflict, NotVisible, PermissionRefused, ValidationFailed
from threads.models import Collaborator, Referral, ThreadEntry, ThreadEvent
from tickets import services, signals
from tickets.models import MergeMode, State, Ticket, TicketLink
from tickets.selectors import ticket_is_visible

from ..factories import AgentFactory, open_ticket, role, status


@pytest.fixture
def parent(cast):
    return open_ticket(cast.alice, department=cast.dept_a, subject="Printer on fire")


@pytest.fixture
def child(cast):
    dup = open_ticket(cast.bob, department=cast.dept_a, subject="Same printer")
    services.ticket_add_collaborator(actor=cast.admin, ticket=dup, user=cast.stranger)
    services.ticket_post_note(actor=cast.agent_a, ticket=dup, body="Dup note")
    return Ticket.objects.get(pk=dup.pk)


def fresh(ticket):
    return Ticket.objects.select_related("status").get(pk=ticket.pk)


def collaborators(ticket):
    return set(
        Collaborator.objects.filter(thread_id=ticket.thread_id).values_list(
            "user__email", flat=True
        )
    )


def snapshot(*tickets):
    """Everything a refused merge or unmerge must leave as it was."""
    return (
        [
            (t.pk, t.version, t.status_id, t.merged_into_id, t.merge_mode, t.assignee_id)
            for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets]).order_by("pk")
        ],
        list(ThreadEntry.objects.order_by("pk").values_list("pk", "thread_id")),
        ThreadEvent.objects.count(),
        Collaborator.objects.count(),
        TicketLink.objects.count(),
        Referral.objects.count(),
    )


# --- combine ---------------------------------------------------------------------------------


def test_combine_moves_the_entries_in_time_order_and_closes_the_child(cast, parent, child):
    services.ticket_post_message(actor=cast.alice, ticket=parent, body="Later, on the parent")

    merged = services.ticket_merge(
        actor=cast.agent_a, ticket=parent, sources=[child], mode=MergeMode.COMBINE
    )

    c = fresh(child)
    assert (c.merged_into_id, c.merge_mode, c.state, c.status.name) == (
        merged.pk,
        "combine",
        State.CLOSED,
        "Closed",
    )
    assert not ThreadEntry.objects.filter(thread_id=c.thread_id).exists()
    bodies = [e.body_text for e in ThreadEntry.objects.filter(thread_id=merged.thread_id)]
    assert bodies == ["It is on fire.", "It is on fire.", "Dup note", "Later, on the parent"]
    assert collaborators(merged) == {cast.bob.email, cast.stranger.email}
    event = c.thread.events.filter(kind="merged").get()
    assert (event.data["mode"], event.data["entries"], event.data["status_before"]["name"]) == (
        "combine",
        2,
        "Open",
    )
    assert merged.thread.events.filter(kind="merged").get().data == {
        "sources": [c.number],
        "mode": "combine",
    }


def test_participants_requesters_copies_the_requester_only(cast, parent, child):
    merged = services.ticket_merge(
        actor=cast.agent_a, ticket=parent, sources=[child], participants="requesters"
    )

    assert collaborators(merged) == {cast.bob.email}


def test_the_child_status_and_the_parent_status_are_chosen(cast, parent, child):
    merged = services.ticket_merge(
        actor=cast.agent_a,
        ticket=parent,
        sources=[child],
        child_status=status("Resolved"),
        parent_status=status("Resolved"),
    )

    assert fresh(child).status.name == "Resolved"
    assert (merged.status.name, fresh(parent).status.name) == ("Resolved", "Resolved")
    assert merged.assignee == cast.agent_a  # closed by an agent: osTicket's closing rule


def test_a_merge_across_departments_refers_the_parent_to_the_childs_department(
    cast, parent, django_capture_on_commit_callbacks
):
    billing = open_ticket(cast.bob, department=cast.dept_b, subject="Invoice")
    assert not ticket_is_visible(user=cast.agent_b, ticket=parent)
    received = []
    signals.ticket_referred.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.ticket_merge(actor=cast.admin, ticket=parent, sources=[billing])
    finally:
        signals.ticket_referred.disconnect(dispatch_uid="t")

    assert Referral.objects.filter(thread_id=parent.thread_id, department=cast.dept_b).exists()
    assert ticket_is_visible(user=cast.agent_b, ticket=parent)
    event = parent.thread.events.filter(kind="referred").get()
    assert (event.data["target"]["id"], event.data["reason"]) == (cast.dept_b.pk, "merged")
    assert parent.pk in [kw["ticket"].pk for kw in received]


# --- separate and link -------------------------------------------------------------------------


def test_separate_keeps_the_childs_thread_and_sends_its_mail_to_the_parent(cast, parent, child):
    merged = services.ticket_merge(
        actor=cast.agent_a, ticket=parent, sources=[child], mode=MergeMode.SEPARATE
    )

    c = fresh(child)
    assert (c.merge_mode, c.state) == ("separate", State.CLOSED)
    assert ThreadEntry.objects.filter(thread_id=c.thread_id).count() == 2
    assert collaborators(merged) == {cast.bob.email, cast.stranger.email}
    posted = services.ticket_post_message(actor=cast.bob, ticket=c, body="Any news?")
    assert posted.ticket.pk == parent.pk


def test_link_relates_the_tickets_and_moves_nothing(
    cast, parent, child, django_capture_on_commit_callbacks
):
    received = []
    signals.ticket_linked.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.ticket_merge(
                actor=cast.agent_a, ticket=parent, sources=[child], mode=MergeMode.LINK
            )
    finally:
        signals.ticket_linked.disconnect(dispatch_uid="t")

    c = fresh(child)
    assert (c.merged_into_id, c.merge_mode, c.state, c.version > child.version) == (
        parent.pk,
        "link",
        State.OPEN,
        True,
    )
    assert ThreadEntry.objects.filter(thread_id=c.thread_id).count() == 2
    assert collaborators(parent) == set()
    assert TicketLink.objects.filter(low=parent, high=child).exists()
    assert list(c.thread.events.values_list("kind", flat=True))[-1] == "linked"
    assert [(kw["ticket"].pk, kw["other"].pk) for kw in received] == [(parent.pk, child.pk)]
    posted = services.ticket_post_message(actor=cast.bob, ticket=c, body="Mine")
    assert posted.ticket.pk == child.pk  # a linked child keeps its own mail


def test_linking_needs_ticket_link_and_merging_ticket_merge(cast, parent, child, nothing_written):
    merger = AgentFactory(department=cast.dept_a, role=role("Limited Access"))
    merger.role.permissions = [p for p in merger.role.permissions if p != "ticket.link"]
    merger.role.save()
    before = snapshot(parent, child)

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_merge(actor=merger, ticket=parent, sources=[child], mode=MergeMode.LINK)
    assert refusal.value.code == "permission_denied"

    assert snapshot(parent, child) == before
    services.ticket_merge(actor=merger, ticket=parent, sources=[child], mode=MergeMode.SEPARATE)
    assert fresh(child).merge_mode == "separate"


def test_unlinking_a_linked_child_frees_it(cast, parent, child):
    services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child], mode=MergeMode.LINK)

    services.ticket_unlink(actor=cast.agent_a, ticket=parent, other=child)

    c = fresh(child)
    assert (c.merged_into_id, c.merge_mode) == (None, "")


# --- refusals ----------------------------------------------------------------------------------


def test_merging_a_ticket_into_itself_is_refused_and_changes_nothing(cast, parent, nothing_written):
    before = snapshot(parent)
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[parent])
    assert exc.value.code == "invalid_merge"
    assert snapshot(parent) == before


def test_merging_a_parent_into_its_own_child_is_refused(cast, parent, child, nothing_written):
    services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child])
    before = snapshot(parent, child)

    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_merge(actor=cast.agent_a, ticket=fresh(child), sources=[fresh(parent)])

    assert exc.value.code == "merge_into_child"
    assert snapshot(parent, child) == before


@pytest.mark.parametrize("mode", ["combine", "link"])
def test_a_child_cannot_be_merged_twice_nor_a_parent_become_a_child(
    cast, parent, child, mode, nothing_written
):
    services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child], mode=mode)
    third = open_ticket(cast.bob, department=cast.dept_a, subject="Third")
    before = snapshot(parent, child, third)

    with nothing_written(), pytest.raises(Conflict) as twice:
        services.ticket_merge(actor=cast.agent_a, ticket=third, sources=[fresh(child)])
    with nothing_written(), pytest.raises(Conflict) as nested:
        services.ticket_merge(actor=cast.agent_a, ticket=third, sources=[fresh(parent)])
    with nothing_written(), pytest.raises(Conflict) as into_child:
        services.ticket_merge(actor=cast.agent_a, ticket=fresh(child), sources=[third])

    assert (twice.value.code, nested.value.code, into_child.value.code) == (
        "already_merged",
        "has_merged_children",
        "already_merged",
    )
    assert snapshot(parent, child, third) == before


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"mode": "stitch"}, "invalid_merge_mode"),
        ({"child_status": "Open"}, "invalid_child_status"),
        ({"parent_status": "Archived"}, "invalid_parent_status"),
        ({"participants": "everyone"}, "invalid_participants"),
        ({"mode": "link", "participants": "all"}, "invalid_merge_options"),
        ({"mode": "link", "child_status": "Resolved"}, "invalid_merge_options"),
    ],
)
def test_bad_merge_options_are_refused_before_anything_is_written(
    cast, parent, child, options, code, nothing_written
):
    options = {
        k: status(v) if k.endswith("status") else v for k, v in options.items()
    }  # statuses by name
    before = snapshot(parent, child)

    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child], **options)

    assert exc.value.code == code
    assert snapshot(parent, child) == before


def test_a_merge_with_a_ticket_the_agent_cannot_see_is_not_found(cast, parent, nothing_written):
    billing = open_ticket(cast.bob, department=cast.dept_b)
    before = snapshot(parent, billing)

    with nothing_written(), pytest.raises(NotVisible) as refusal:
        services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[billing])
    assert refusal.value.code == "ticket_not_found"

    assert snapshot(parent, billing) == before


def test_a_ticket_in_the_trash_cannot_be_merged(cast, parent, child, nothing_written):
    services.ticket_set_status(actor=cast.admin, ticket=child, status=status("Deleted"))
    before = snapshot(parent, child)

    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_merge(actor=cast.admin, ticket=parent, sources=[fresh(child)])

    assert exc.value.code == "ticket_deleted"
    assert snapshot(parent, child) == before


# --- unmerge -----------------------------------------------------------------------------------


def test_unmerging_a_combined_child_takes_back_its_entries_and_its_status(
    cast, parent, child, django_capture_on_commit_callbacks
):
    services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child])
    services.ticket_post_message(actor=cast.bob, ticket=child, body="Sent after the merge")
    received = []
    signals.ticket_unmerged.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            detached = services.ticket_unmerge(actor=cast.agent_a, ticket=fresh(child))
    finally:
        signals.ticket_unmerged.disconnect(dispatch_uid="t")

    assert (detached.merged_into_id, detached.merge_mode) == (None, "")
    assert (detached.state, detached.status.name) == (State.OPEN, "Open")  # as before
    own = ThreadEntry.objects.filter(thread_id=child.thread_id)
    assert sorted(e.body_text for e in own) == ["Dup note", "It is on fire."]
    assert not own.exclude(original_thread=None).exists()
    on_parent = ThreadEntry.objects.filter(thread_id=parent.thread_id)
    assert [e.body_text for e in on_parent] == [
        "It is on fire.",
        "Sent after the merge",  # posted to the parent since: it stays there
    ]
    for t, other in ((child, parent), (parent, child)):
        event = t.thread.events.filter(kind="unmerged").get()
        assert event.data == {
            "other": {"id": other.pk, "number": other.number},
            "mode": "combine",
            "entries": 2,
        }
    assert [(kw["ticket"].pk, kw["parent"].pk, kw["entries"]) for kw in received] == [
        (child.pk, parent.pk, 2)
    ]
    assert fresh(parent).version > parent.version


def test_unmerging_a_separate_child_with_a_chosen_status(cast, parent, child):
    services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child], mode="separate")

    detached = services.ticket_unmerge(
        actor=cast.agent_a, ticket=fresh(child), status=status("Resolved")
    )

    assert (detached.merged_into_id, detached.status.name) == (None, "Resolved")
    assert ThreadEntry.objects.filter(thread_id=child.thread_id).count() == 2


def test_unmerging_a_linked_child_removes_the_link(cast, parent, child):
    services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child], mode="link")

    detached = services.ticket_unmerge(actor=cast.agent_a, ticket=fresh(child))

    assert (detached.merged_into_id, detached.merge_mode, detached.state) == (None, "", "open")
    assert not TicketLink.objects.exists()
    assert list(parent.thread.events.values_list("kind", flat=True))[-2:] == [
        "linked",
        "unlinked",
    ]


def test_unmerging_a_ticket_that_is_not_merged_is_refused_and_changes_nothing(
    cast, parent, nothing_written
):
    before = snapshot(parent)

    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_unmerge(actor=cast.agent_a, ticket=parent)

    assert exc.value.code == "not_merged"
    assert snapshot(parent) == before


def test_unmerging_needs_the_merge_permission_and_visibility(cast, parent, child, nothing_written):
    services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child])
    viewer = AgentFactory(department=cast.dept_a, role=role("View only"))
    before = snapshot(parent, child)

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_unmerge(actor=viewer, ticket=fresh(child))
    assert refusal.value.code == "permission_denied"
    with nothing_written(), pytest.raises(NotVisible) as refusal2:
        services.ticket_unmerge(actor=cast.agent_b, ticket=fresh(child))
    assert refusal2.value.code == "ticket_not_found"

    assert snapshot(parent, child) == before


def test_a_status_given_to_unmerge_must_be_open_or_closed(cast, parent, child, nothing_written):
    services.ticket_merge(actor=cast.agent_a, ticket=parent, sources=[child])
    before = snapshot(parent, child)

    with nothing_written(), pytest.raises(ValidationFailed) as refusal:
        services.ticket_unmerge(actor=cast.admin, ticket=fresh(child), status=status("Archived"))
    assert refusal.value.code == "invalid_status"

    assert snapshot(parent, child) == before


def test_purging_a_parent_frees_its_children(cast, parent, child):
    services.ticket_merge(actor=cast.admin, ticket=parent, sources=[child], mode="separate")
    services.ticket_set_status(actor=cast.admin, ticket=parent, status=status("Deleted"))

    services.tickets_purge(actor=cast.admin, tickets=[fresh(parent)])

    c = fresh(child)
    assert (c.merged_into_id, c.merge_mode) == (None, "")
