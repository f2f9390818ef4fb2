"""thread.edit and osTicket's other thread entry actions in the panel: edit (own
entries, the department manager, or thread.edit), its history, edit and resend,
resend, email headers; create a ticket or a task from an entry."""

import pytest
from django.core import mail

from threads.models import EntryRevision, ThreadEntry, ThreadEvent
from tickets import services

from ..factories import AgentFactory, open_ticket, role
from .conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def expanded(cast):
    """An agent of department A whose role (Expanded Access) lacks thread.edit."""
    return AgentFactory(username="exp", department=cast.dept_a, role=role("Expanded Access"))


def _note(actor, ticket, body="First text"):
    return services.ticket_post_note(actor=actor, ticket=ticket, body=body, title="Checked").entry


def _edit_url(ticket, entry, what="edit"):
    return f"/scp/tickets/{ticket.number}/entries/{entry.pk}/{what}/"


def test_an_agent_edits_their_own_note_and_the_old_text_is_kept(cast, expanded, ticket_a):
    note = _note(expanded, ticket_a)
    client = signed_in(expanded)
    assert client.get(_edit_url(ticket_a, note)).status_code == 200
    response = client.post(_edit_url(ticket_a, note), {"title": "Rechecked", "body": "Fixed text"})
    assert response.status_code == 302

    note.refresh_from_db()
    assert (note.body_text, note.title, note.editor) == ("Fixed text", "Rechecked", expanded)
    [old] = EntryRevision.objects.filter(entry=note)
    assert (old.body_text, old.title, old.written_by, old.replaced_by) == (
        "First text",
        "Checked",
        expanded,
        expanded,
    )
    event = ThreadEvent.objects.get(thread_id=ticket_a.thread_id, kind="edited")
    assert event.data == {"entry": note.pk, "revision": old.pk} and event.actor == expanded

    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert 'class="badge edited"' in page
    assert _edit_url(ticket_a, note, "history") in page
    history = client.get(_edit_url(ticket_a, note, "history")).content.decode()
    assert "First text" in history and "Fixed text" in history


def test_a_second_edit_keeps_both_earlier_texts_in_order(cast, ticket_a):
    note = _note(cast.agent_a, ticket_a, "v1")
    for body in ("v2", "v3"):
        services.ticket_entry_edit(actor=cast.agent_a, ticket=ticket_a, entry=note, body=body)
    texts = [
        r.body_text for r in EntryRevision.objects.filter(entry=note).order_by("replaced_at", "pk")
    ]
    assert texts == ["v1", "v2"]
    note.refresh_from_db()
    assert note.body_text == "v3"


def test_without_thread_edit_another_agents_entry_is_refused_naming_the_manager(
    cast, expanded, ticket_a
):
    note = _note(cast.agent_a, ticket_a)
    client = signed_in(expanded)
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert _edit_url(ticket_a, note) not in page
    for response in (
        client.get(_edit_url(ticket_a, note)),
        client.post(_edit_url(ticket_a, note), {"body": "Hijacked"}),
        client.get(_edit_url(ticket_a, note, "history")),
    ):
        assert response.status_code == 403
        body = response.content.decode()
        assert 'data-permission="thread.edit"' in body
        assert cast.manager_a.display_name in body  # whom to ask: the department's manager
    note.refresh_from_db()
    assert note.body_text == "First text" and note.edited_at is None
    assert not EntryRevision.objects.exists()


def test_with_thread_edit_an_agent_edits_others_entries_and_client_messages(cast, ticket_a):
    message = ThreadEntry.objects.get(thread_id=ticket_a.thread_id, kind="message")
    client = signed_in(cast.agent_a)  # All Access holds thread.edit
    assert client.post(_edit_url(ticket_a, message), {"body": "Redacted"}).status_code == 302
    message.refresh_from_db()
    assert message.body_text == "Redacted"
    assert EntryRevision.objects.get(entry=message).body_text == "It is on fire."


def test_the_department_manager_edits_entries_of_their_department(cast, ticket_a):
    note = _note(cast.agent_a, ticket_a)
    response = signed_in(cast.manager_a).post(_edit_url(ticket_a, note), {"body": "By manager"})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.body_text == "By manager"


def test_an_empty_text_is_refused_and_nothing_changes(cast, ticket_a):
    note = _note(cast.agent_a, ticket_a)
    response = signed_in(cast.agent_a).post(_edit_url(ticket_a, note), {"body": "   "})
    assert response.status_code == 422
    note.refresh_from_db()
    assert note.body_text == "First text" and not EntryRevision.objects.exists()


def test_entries_of_an_invisible_ticket_are_404(cast, ticket_b):
    note = _note(cast.agent_b, ticket_b)
    client = signed_in(cast.agent_a)
    for what in ("edit", "history", "headers"):
        assert client.get(_edit_url(ticket_b, note, what)).status_code == 404
    assert client.post(_edit_url(ticket_b, note, "resend")).status_code == 404


def _reply(agent, ticket, body="Try turning it off."):
    return services.ticket_post_reply(actor=agent, ticket=ticket, body=body).entry


def _mails_to(address):
    return [m for m in mail.outbox if address in m.to]


def test_edit_and_resend_mails_the_corrected_response(
    cast, ticket_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _reply(cast.agent_a, ticket_a)
    assert len(_mails_to("alice@acme.test")) == 1
    client = signed_in(cast.agent_a)
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert "Edit and resend" in page
    # a response is only edited together with a resend
    with pytest.raises(Exception) as refused:
        services.ticket_entry_edit(actor=cast.agent_a, ticket=ticket_a, entry=response, body="x")
    assert getattr(refused.value, "code", "") == "response_needs_resend"

    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(_edit_url(ticket_a, response), {"body": "Try turning it ON."})
    assert posted.status_code == 302
    mails = _mails_to("alice@acme.test")
    assert len(mails) == 2
    assert "Try turning it ON." in mails[1].body
    assert EntryRevision.objects.get(entry=response).body_text == "Try turning it off."
    kinds = set(
        ThreadEvent.objects.filter(thread_id=ticket_a.thread_id).values_list("kind", flat=True)
    )
    assert {"edited", "resent"} <= kinds


def test_resend_queues_the_response_again_and_needs_ticket_reply(
    cast, ticket_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _reply(cast.agent_a, ticket_a)
    viewer = AgentFactory(username="viewer", department=cast.dept_a, role=role("View only"))
    refused = signed_in(viewer).post(_edit_url(ticket_a, response, "resend"))
    assert refused.status_code == 403
    assert len(_mails_to("alice@acme.test")) == 1
    assert not ThreadEvent.objects.filter(kind="resent").exists()

    with django_capture_on_commit_callbacks(execute=True):
        ok = signed_in(cast.agent_a).post(_edit_url(ticket_a, response, "resend"))
    assert ok.status_code == 302
    mails = _mails_to("alice@acme.test")
    assert len(mails) == 2 and "Try turning it off." in mails[1].body
    assert ThreadEvent.objects.get(kind="resent").data == {"entry": response.pk}


def test_email_headers_are_shown_to_agents_and_never_in_the_portal(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    entry = ThreadEntry.objects.get(thread_id=ticket.thread_id, kind="message")
    ThreadEntry.objects.filter(pk=entry.pk).update(
        email_headers="Received: by mx.acme.test\nX-Secret-Route: internal-relay-7",
        source="email",
    )
    agent = signed_in(cast.agent_a)
    page = agent.get(f"/scp/tickets/{ticket.number}/").content.decode()
    assert _edit_url(ticket, entry, "headers") in page
    headers = agent.get(_edit_url(ticket, entry, "headers"))
    assert headers.status_code == 200 and b"X-Secret-Route: internal-relay-7" in headers.content

    client = signed_in(cast.alice)
    assert client.get(_edit_url(ticket, entry, "headers")).status_code == 403
    portal = client.get(f"/tickets/{ticket.number}/")
    assert portal.status_code == 200
    assert b"X-Secret-Route" not in portal.content and b"/headers/" not in portal.content


def test_system_entries_are_not_editable(cast, ticket_a):
    note = services.ticket_post_note(
        actor=cast.admin, ticket=ticket_a, body="Auto", is_system_note=True
    ).entry
    client = signed_in(cast.admin)
    assert (
        _edit_url(ticket_a, note)
        not in client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    )
    assert client.post(_edit_url(ticket_a, note), {"body": "x"}).status_code == 409
    assert not EntryRevision.objects.exists()


def test_create_ticket_and_task_from_an_entry_are_offered_per_entry(cast, ticket_a):
    message = ThreadEntry.objects.get(thread_id=ticket_a.thread_id, kind="message")
    page = signed_in(cast.agent_a).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert f"/scp/tickets/{ticket_a.number}/entries/{message.pk}/split/" in page
    assert f"/scp/tickets/{ticket_a.number}/tasks/new/?entry={message.pk}" in page


def test_the_admin_shows_an_entrys_history_read_only(admin_client, cast, ticket_a):
    note = _note(cast.agent_a, ticket_a, "Before the fix")
    services.ticket_entry_edit(actor=cast.agent_a, ticket=ticket_a, entry=note, body="After")
    page = admin_client.get(f"/admin/threads/threadentry/{note.pk}/change/")
    assert page.status_code == 200
    assert b"Before the fix" in page.content
