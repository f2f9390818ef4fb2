"""Editing a task's updates and reading their history on the task page: the same rule
as a ticket's entries (own updates, the department's manager, or thread.edit), the
same service (tickets.services.entry_edits) and the same pages."""

import pytest

from threads.models import EntryRevision, ThreadEvent
from tickets import services

from ..factories import AgentFactory, role
from .conftest import new_task, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def expanded(cast):
    """An agent of department A whose role (Expanded Access) lacks thread.edit."""
    return AgentFactory(username="exp", department=cast.dept_a, role=role("Expanded Access"))


@pytest.fixture
def task(cast):
    return new_task(cast.agent_a, department=cast.dept_a)


def _update(actor, task, body="Part ordered"):
    return services.task_post_update(actor=actor, task=task, body=body, title="Ordered")


def _url(task, entry, what="edit"):
    return f"/scp/tasks/{task.number}/entries/{entry.pk}/{what}/"


def test_an_agent_edits_their_own_update_and_the_old_text_is_kept(cast, expanded, task):
    update = _update(expanded, task)
    client = signed_in(expanded)
    page = client.get(f"/scp/tasks/{task.number}/").content.decode()
    assert _url(task, update) in page

    assert client.get(_url(task, update)).status_code == 200
    response = client.post(_url(task, update), {"title": "Ordered twice", "body": "Two parts"})
    assert response.status_code == 302
    assert response["Location"] == f"/scp/tasks/{task.number}/#entry-{update.pk}"

    update.refresh_from_db()
    assert (update.body_text, update.title, update.editor) == (
        "Two parts",
        "Ordered twice",
        expanded,
    )
    [old] = EntryRevision.objects.filter(entry=update)
    assert (old.body_text, old.title, old.written_by, old.replaced_by) == (
        "Part ordered",
        "Ordered",
        expanded,
        expanded,
    )
    event = ThreadEvent.objects.get(thread_id=task.thread_id, kind="edited")
    assert event.data == {"entry": update.pk, "revision": old.pk} and event.actor == expanded

    page = client.get(f"/scp/tasks/{task.number}/").content.decode()
    assert 'class="badge edited"' in page and _url(task, update, "history") in page
    history = client.get(_url(task, update, "history"))
    assert history.status_code == 200
    text = history.content.decode()
    assert "Part ordered" in text and "Two parts" in text and f"Task #{task.number}" in text


def test_without_thread_edit_another_agents_update_is_refused(cast, expanded, task):
    update = _update(cast.agent_a, task)
    client = signed_in(expanded)
    version = type(task).objects.get(pk=task.pk).version
    page = client.get(f"/scp/tasks/{task.number}/").content.decode()
    assert _url(task, update) not in page
    for response in (
        client.get(_url(task, update)),
        client.post(_url(task, update), {"body": "Hijacked"}),
        client.get(_url(task, update, "history")),
    ):
        assert response.status_code == 403
        assert 'data-permission="thread.edit"' in response.content.decode()
    update.refresh_from_db()
    assert update.body_text == "Part ordered" and update.edited_at is None
    assert not EntryRevision.objects.exists()
    assert not ThreadEvent.objects.filter(thread_id=task.thread_id, kind="edited").exists()
    assert type(task).objects.get(pk=task.pk).version == version


def test_the_department_manager_edits_any_update(cast, task):
    update = _update(cast.agent_a, task)
    client = signed_in(cast.manager_a)  # Limited Access: no thread.edit in the role
    assert "thread.edit" not in role("Limited Access").permissions
    response = client.post(_url(task, update), {"title": "", "body": "Manager's fix"})
    assert response.status_code == 302
    update.refresh_from_db()
    assert update.body_text == "Manager's fix" and update.editor == cast.manager_a
    assert EntryRevision.objects.get(entry=update).body_text == "Part ordered"


def test_with_thread_edit_an_agent_edits_others_updates(cast, expanded, task):
    update = _update(expanded, task)
    services.task_entry_edit(actor=cast.agent_a, task=task, entry=update, body="Corrected")
    update.refresh_from_db()
    assert update.body_text == "Corrected" and update.editor == cast.agent_a


def test_an_agent_who_does_not_see_the_task_gets_404(cast, task):
    update = _update(cast.agent_a, task)
    client = signed_in(cast.agent_b)
    assert client.get(_url(task, update)).status_code == 404
    assert client.post(_url(task, update), {"body": "x"}).status_code == 404
    assert client.get(_url(task, update, "history")).status_code == 404
    update.refresh_from_db()
    assert update.body_text == "Part ordered"


def test_an_entry_of_another_thread_is_404_and_an_empty_body_changes_nothing(cast, task, ticket_a):
    note = services.ticket_post_note(actor=cast.agent_a, ticket=ticket_a, body="Ticket note").entry
    client = signed_in(cast.agent_a)
    assert client.get(_url(task, note)).status_code == 404
    update = _update(cast.agent_a, task)
    response = client.post(_url(task, update), {"body": "   "})
    assert response.status_code == 422
    update.refresh_from_db()
    assert update.body_text == "Part ordered" and not EntryRevision.objects.exists()
