"""Editing a thread entry and reading its edit history through the API, on tickets and
tasks: the services' rule (own entries, the department's manager, or thread.edit), 404
for what the caller may not see, 403 and 409 as problem details, nothing written on
refusal, If-Match on the ticket's or task's ETag."""

import pytest
from django.core import mail

from threads.models import EntryRevision, ThreadEvent
from tickets import services
from tickets.models import Task, Ticket

from ..factories import AgentFactory, role
from .conftest import new_task, nothing_written, problem, queries_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def expanded(cast):
    """An agent of Support whose role (Expanded Access) lacks thread.edit."""
    return AgentFactory(username="exp", department=cast.dept_a, role=role("Expanded Access"))


def _note(actor, ticket, body="First text"):
    return services.ticket_post_note(actor=actor, ticket=ticket, body=body, title="Checked").entry


def _url(work, entry, tail=""):
    plural = "tasks" if isinstance(work, Task) else "tickets"
    return f"/api/v1/{plural}/{work.number}/entries/{entry.pk}/{tail}"


# --- tickets ---------------------------------------------------------------------------------


def test_an_agent_edits_their_own_note_and_reads_its_history(api, cast, expanded, ticket_a):
    note = _note(expanded, ticket_a)
    client = api.agent(expanded)
    version = Ticket.objects.get(pk=ticket_a.pk).version

    response = client.patch(
        _url(ticket_a, note),
        {"body": "Fixed text", "title": "Rechecked"},
        format="json",
        HTTP_IF_MATCH=f'"{version}"',
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["body_text"], body["title"]) == (note.pk, "Fixed text", "Rechecked")
    assert body["edited_at"] is not None
    ticket_a.refresh_from_db()
    assert response["ETag"] == f'"{ticket_a.version}"' and ticket_a.version == version + 1
    event = ThreadEvent.objects.get(thread_id=ticket_a.thread_id, kind="edited")
    assert event.channel == "api" and event.actor == expanded

    history = client.get(_url(ticket_a, note, "revisions/"))
    assert history.status_code == 200
    [old] = history.json()
    assert (old["body_text"], old["title"], old["written_by"]["id"]) == (
        "First text",
        "Checked",
        expanded.pk,
    )
    assert old["replaced_by"]["id"] == expanded.pk
    assert client.get(_url(ticket_a, note)).json()["body_text"] == "Fixed text"


def test_without_thread_edit_another_agents_note_is_403_and_nothing_changes(
    api, cast, expanded, ticket_a
):
    note = _note(cast.agent_a, ticket_a)
    client = api.agent(expanded)
    with nothing_written():
        response = client.patch(_url(ticket_a, note), {"body": "Hijacked"}, format="json")
        history = client.get(_url(ticket_a, note, "revisions/"))
    body = problem(response)
    assert response.status_code == 403 and body["code"] == "permission_denied"
    assert "thread.edit" in body["detail"]
    assert history.status_code == 403


def test_with_thread_edit_an_agent_edits_the_clients_message(api, cast, ticket_a):
    message = ticket_a.thread.entries.get(kind="message")
    response = api.agent(cast.agent_a).patch(
        _url(ticket_a, message), {"body": "Since 10am."}, format="json"
    )
    assert response.status_code == 200, response.content
    assert EntryRevision.objects.get(entry=message).body_text == "Since 9am."


def test_a_response_is_edited_only_with_resend_which_mails_it_again(api, cast, ticket_a):
    response_entry = services.ticket_post_reply(
        actor=cast.agent_a, ticket=ticket_a, body="Try turning it off."
    ).entry
    client = api.agent(cast.agent_a)
    with nothing_written(ignore=("helpdesk_api.idempotencyrecord",)):
        refused = client.patch(_url(ticket_a, response_entry), {"body": "x"}, format="json")
    assert refused.status_code == 409 and problem(refused)["code"] == "response_needs_resend"

    mail.outbox.clear()
    done = client.patch(
        _url(ticket_a, response_entry),
        {"body": "Try turning it off and on.", "resend": True},
        format="json",
    )
    assert done.status_code == 200, done.content
    assert ThreadEvent.objects.filter(thread_id=ticket_a.thread_id, kind="resent").count() == 1


def test_bad_input_is_422_and_a_stale_if_match_is_412_with_nothing_written(api, cast, ticket_a):
    note = _note(cast.agent_a, ticket_a)
    client = api.agent(cast.agent_a)
    with nothing_written():
        missing = client.patch(_url(ticket_a, note), {}, format="json")
        empty = client.patch(_url(ticket_a, note), {"body": "   "}, format="json")
        stale = client.patch(
            _url(ticket_a, note), {"body": "New"}, format="json", HTTP_IF_MATCH='"999"'
        )
    assert missing.status_code == 422 and "body" in problem(missing)["errors"]
    assert empty.status_code == 422
    assert stale.status_code == 412


def test_what_the_caller_may_not_see_is_404(api, cast, ticket_a, ticket_b):
    note = _note(cast.agent_a, ticket_a)
    other = _note(cast.agent_b, ticket_b)
    as_b, as_a, as_alice = (
        api.agent(cast.agent_b),
        api.agent(cast.agent_a),
        api.client_user(cast.alice),
    )
    with nothing_written(ignore=("accounts.user.last_login",)):
        hidden_ticket = as_b.patch(_url(ticket_a, note), {"body": "x"}, format="json")
        wrong_thread = as_a.patch(_url(ticket_a, other), {"body": "x"}, format="json")
        client_note = as_alice.get(_url(ticket_a, note, "revisions/"))
    assert hidden_ticket.status_code == 404
    assert wrong_thread.status_code == 404 and problem(wrong_thread)["code"] == "entry_not_found"
    assert client_note.status_code == 404


def test_clients_and_api_keys_never_edit(api, cast, ticket_a):
    message = ticket_a.thread.entries.get(kind="message")
    key = api.key(read=[cast.dept_a.pk], write=[cast.dept_a.pk])
    as_alice = api.client_user(cast.alice)
    with nothing_written(ignore=("accounts.apikey.last_used_at",)):
        by_client = as_alice.patch(_url(ticket_a, message), {"body": "Edited"}, format="json")
        by_key = key.patch(_url(ticket_a, message), {"body": "Edited"}, format="json")
    assert by_client.status_code == 403 and problem(by_client)["code"] == "permission_denied"
    assert by_key.status_code == 403


def test_the_history_costs_the_same_whatever_its_length(api, cast, ticket_a):
    note = _note(cast.agent_a, ticket_a)
    client = api.agent(cast.agent_a)
    services.ticket_entry_edit(actor=cast.agent_a, ticket=ticket_a, entry=note, body="v2")
    queries_of(client, _url(ticket_a, note, "revisions/"))  # the token's first use is recorded
    one = queries_of(client, _url(ticket_a, note, "revisions/"))
    for n in range(3, 8):
        services.ticket_entry_edit(actor=cast.agent_a, ticket=ticket_a, entry=note, body=f"v{n}")
    assert queries_of(client, _url(ticket_a, note, "revisions/")) == one
    assert len(client.get(_url(ticket_a, note, "revisions/")).json()) == 6


# --- tasks -----------------------------------------------------------------------------------


def test_an_agent_edits_a_task_update_and_reads_its_history(api, cast, expanded):
    task = new_task(cast.admin, department=cast.dept_a)
    update = services.task_post_update(actor=expanded, task=task, body="Part ordered")
    client = api.agent(expanded)

    response = client.patch(_url(task, update), {"body": "Two parts ordered"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["body_text"] == "Two parts ordered"
    assert response["ETag"] == f'"{Task.objects.get(pk=task.pk).version}"'
    [old] = client.get(_url(task, update, "revisions/")).json()
    assert old["body_text"] == "Part ordered"


def test_a_task_update_of_another_agent_needs_thread_edit_or_the_manager(api, cast, expanded):
    task = new_task(cast.admin, department=cast.dept_a)
    update = services.task_post_update(actor=cast.agent_a, task=task, body="Part ordered")
    as_expanded, as_a = api.agent(expanded), api.agent(cast.agent_a)
    with nothing_written():
        refused = as_expanded.patch(_url(task, update), {"body": "x"}, format="json")
        resend = as_a.patch(_url(task, update), {"body": "x", "resend": True}, format="json")
    assert refused.status_code == 403 and problem(refused)["code"] == "permission_denied"
    assert resend.status_code == 409 and problem(resend)["code"] == "not_a_response"

    by_manager = api.agent(cast.manager_a).patch(
        _url(task, update), {"body": "Manager's fix"}, format="json"
    )
    assert by_manager.status_code == 200, by_manager.content


def test_a_task_the_caller_may_not_see_is_404_and_clients_never_reach_tasks(api, cast):
    task = new_task(cast.admin, department=cast.dept_a)
    update = services.task_post_update(actor=cast.agent_a, task=task, body="Part ordered")
    as_b, as_alice = api.agent(cast.agent_b), api.client_user(cast.alice)
    with nothing_written(ignore=("accounts.user.last_login",)):
        hidden = as_b.patch(_url(task, update), {"body": "x"}, format="json")
        client = as_alice.get(_url(task, update, "revisions/"))
    assert hidden.status_code == 404 and client.status_code == 404
