"""A new ticket from a thread entry, cross-linked (tickets.services.split)."""

import pytest

from accounts.errors import Conflict, NotVisible, PermissionRefused, ValidationFailed
from threads.models import Attachment, ThreadEntry, ThreadEvent
from tickets import services, signals
from tickets.models import Ticket, TicketLink

from ..factories import AgentFactory, attachment, open_ticket, role, status


@pytest.fixture
def ticket(cast):
    return open_ticket(cast.alice, department=cast.dept_a, subject="Two problems")


def _message(cast, ticket, poster=None):
    return services.ticket_post_message(
        actor=poster or cast.alice,
        ticket=ticket,
        body="<p>Also the <b>scanner</b> jams.</p>",
        fmt="html",
        files=[attachment("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")],
    ).entry


def _counts():
    return (
        Ticket.objects.count(),
        ThreadEntry.objects.count(),
        ThreadEvent.objects.count(),
        Attachment.objects.count(),
        TicketLink.objects.count(),
    )


def test_a_ticket_from_an_entry_copies_it_and_links_both(
    cast, ticket, django_capture_on_commit_callbacks
):
    entry = _message(cast, ticket)
    received = []
    signals.ticket_split.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            new = services.ticket_split(
                actor=cast.agent_a, ticket=ticket, entry=entry, subject="Scanner jams"
            )
    finally:
        signals.ticket_split.disconnect(dispatch_uid="t")

    assert (new.subject, new.requester, new.department) == (
        "Scanner jams",
        cast.alice,
        cast.dept_a,
    )
    first = ThreadEntry.objects.get(thread_id=new.thread_id)
    assert (first.kind, first.format, first.body_html) == ("message", "html", entry.body_html)
    copied, original = first.attachments.get(), entry.attachments.get()
    assert copied.pk != original.pk and copied.file_id == original.file_id  # by reference
    assert copied.filename == "scan.png"
    assert TicketLink.objects.filter(
        low_id=min(ticket.pk, new.pk), high_id=max(ticket.pk, new.pk)
    ).exists()
    for t, other in ((ticket, new), (new, ticket)):
        event = t.thread.events.get(kind="split")
        assert event.data == {
            "other": {"id": other.pk, "number": other.number},
            "entry": entry.pk,
            "files": 1,
        }
        assert (event.actor_id, event.channel) == (cast.agent_a.pk, "panel")
    assert Ticket.objects.get(pk=ticket.pk).version > ticket.version
    assert [(kw["ticket"].pk, kw["new_ticket"].pk, kw["entry"].pk) for kw in received] == [
        (ticket.pk, new.pk, entry.pk)
    ]
    # the source entry itself stays where it was
    assert ThreadEntry.objects.get(pk=entry.pk).thread_id == ticket.thread_id


def test_a_collaborators_message_becomes_their_own_ticket(cast, ticket):
    services.ticket_add_collaborator(actor=cast.admin, ticket=ticket, user=cast.alice_colleague)
    entry = _message(cast, ticket, poster=cast.alice_colleague)

    new = services.ticket_split(actor=cast.agent_a, ticket=ticket, entry=entry, subject="Mine")

    assert new.requester == cast.alice_colleague


def test_a_note_goes_to_the_chosen_requester_and_department(cast, ticket):
    note = services.ticket_post_note(actor=cast.agent_a, ticket=ticket, body="Bob has it too").entry

    new = services.ticket_split(
        actor=cast.admin,
        ticket=ticket,
        entry=note,
        subject="Bob's printer",
        requester=cast.bob,
        department=cast.dept_b,
    )

    assert (new.requester, new.department) == (cast.bob, cast.dept_b)
    first = ThreadEntry.objects.get(thread_id=new.thread_id)
    assert (first.kind, first.body_text) == ("message", "Bob has it too")


def test_an_entry_with_files_only_gets_a_short_body(cast, ticket):
    entry = services.ticket_post_message(
        actor=cast.alice, ticket=ticket, body="", files=[attachment()]
    ).entry

    new = services.ticket_split(actor=cast.agent_a, ticket=ticket, entry=entry, subject="File")

    first = ThreadEntry.objects.get(thread_id=new.thread_id)
    assert first.body_text == f"Created from an entry of ticket #{ticket.number}."
    assert first.attachments.get().filename == "notes.txt"


def test_a_closed_ticket_can_be_split(cast, ticket):
    entry = _message(cast, ticket)
    services.ticket_set_status(actor=cast.agent_a, ticket=ticket, status=status("Resolved"))

    new = services.ticket_split(actor=cast.agent_a, ticket=ticket, entry=entry, subject="Later")

    assert new.state == "open"


# --- refusals: nothing is created ---------------------------------------------------------------


def test_an_agent_who_cannot_see_the_ticket_gets_not_found(cast, ticket, nothing_written):
    entry = _message(cast, ticket)
    before = _counts()

    with nothing_written(), pytest.raises(NotVisible) as refusal:
        services.ticket_split(actor=cast.agent_b, ticket=ticket, entry=entry, subject="No")
    assert refusal.value.code == "ticket_not_found"

    assert _counts() == before


def test_an_entry_of_another_ticket_is_not_found(cast, ticket, nothing_written):
    other = open_ticket(cast.alice, department=cast.dept_a, subject="Other")
    entry = ThreadEntry.objects.get(thread_id=other.thread_id)
    before = _counts()

    with nothing_written(), pytest.raises(NotVisible) as refusal:
        services.ticket_split(actor=cast.agent_a, ticket=ticket, entry=entry, subject="No")
    assert refusal.value.code == "entry_not_found"

    assert _counts() == before


def test_creating_in_a_department_without_ticket_create_is_refused(cast, ticket, nothing_written):
    entry = _message(cast, ticket)
    viewer = AgentFactory(
        department=cast.dept_a,
        role=role("All Access"),
        extra_departments={cast.dept_b: "View only"},
    )
    before = _counts()

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_split(
            actor=viewer, ticket=ticket, entry=entry, subject="No", department=cast.dept_b
        )
    assert refusal.value.code == "permission_denied"

    assert _counts() == before


def test_clients_cannot_split(cast, ticket, nothing_written):
    entry = _message(cast, ticket)
    before = _counts()

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_split(actor=cast.alice, ticket=ticket, entry=entry, subject="No")
    assert refusal.value.code == "permission_denied"

    assert _counts() == before


def test_a_ticket_in_the_trash_cannot_be_split(cast, ticket, nothing_written):
    entry = _message(cast, ticket)
    services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Deleted"))
    before = _counts()

    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_split(actor=cast.admin, ticket=ticket, entry=entry, subject="No")

    assert exc.value.code == "ticket_deleted"
    assert _counts() == before


def test_an_empty_subject_is_refused(cast, ticket, nothing_written):
    entry = _message(cast, ticket)
    before = _counts()

    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        services.ticket_split(actor=cast.agent_a, ticket=ticket, entry=entry, subject="  ")

    assert exc.value.code == "subject_required"
    assert _counts() == before
