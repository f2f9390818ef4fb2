"""A response's recipients and signature are decided by the reply service
(tickets.services.ticket_post_reply: reply_recipients, signed), so the panel and the API
give the same entry for the same choice."""

import pytest
from rest_framework.test import APIClient

from accounts.actors import SYSTEM
from accounts.apikeys import token_create
from accounts.errors import ValidationFailed
from threads.models import Collaborator, ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import Ticket

from ..factories import ClientFactory, open_ticket
from ..panel.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(cast):
    """alice's ticket with two active collaborators (bob, dana) and an inactive one (carl)."""
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    for name in ("Dana", "Bob", "Carl"):
        user = cast.bob if name == "Bob" else ClientFactory(name=name)
        ticket = services.ticket_add_collaborator(actor=cast.admin, ticket=ticket, user=user)
    Collaborator.objects.filter(thread_id=ticket.thread_id, user__name="Carl").update(
        is_active=False
    )
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def signature(cast):
    cast.agent_a.signature = "Alex\nSupport"
    cast.agent_a.save()
    return "Alex\nSupport"


def _api(agent) -> APIClient:
    _, secret = token_create(actor=SYSTEM, user=agent, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _api_reply(agent, ticket, **body):
    return _post_reply(_api(agent), ticket, **body)


def _post_reply(client, ticket, **body):
    return client.post(
        f"/api/v1/tickets/{ticket.number}/entries/",
        {"kind": "reply", **body},
        format="json",
    )


def _panel_reply(agent, ticket, **data):
    ticket = Ticket.objects.get(pk=ticket.pk)
    return signed_in(agent).post(
        f"/scp/tickets/{ticket.number}/reply/", {"version": ticket.version, **data}
    )


def _last_response(ticket):
    return ThreadEntry.objects.filter(thread_id=ticket.thread_id, kind="response").last()


def _dana(ticket):
    return ticket.thread.collaborators.get(user__name="Dana").user


def _active_by_name(cast, ticket):
    """The active collaborators' addresses in the panel's order (name, then address)."""
    people = sorted([cast.bob, _dana(ticket)], key=lambda u: (u.name, u.email))
    return [p.email for p in people]


def test_by_default_a_reply_goes_to_the_requester_and_every_active_collaborator(cast, ticket):
    posted = services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="On it.")

    assert posted.entry.recipients == {
        "to": [cast.alice.email],
        "cc": _active_by_name(cast, ticket),  # never the inactive one
    }


def test_chosen_collaborators_only(cast, ticket):
    posted = services.ticket_post_reply(
        actor=cast.agent_a, ticket=ticket, body="On it.", cc=[_dana(ticket).pk]
    )

    assert posted.entry.recipients == {"to": [cast.alice.email], "cc": [_dana(ticket).email]}


@pytest.mark.parametrize("who", ["carl (inactive)", "a stranger", "the requester"])
def test_copying_someone_who_is_no_active_collaborator_is_refused(
    cast, ticket, who, nothing_written
):
    person = {
        "carl (inactive)": lambda: ticket.thread.collaborators.get(user__name="Carl").user,
        "a stranger": lambda: cast.stranger,
        "the requester": lambda: cast.alice,
    }[who]()
    version = Ticket.objects.get(pk=ticket.pk).version
    events = ticket.thread.events.count()

    with nothing_written(), pytest.raises(ValidationFailed) as refused:
        services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="x", cc=[person.pk])

    assert refused.value.code == "invalid_cc"
    assert refused.value.fields == {"cc": ["Choose among the ticket's active collaborators."]}
    assert str(refused.value) == (
        f"Not active collaborators of ticket #{ticket.number}: {person.pk}."
    )
    assert _last_response(ticket) is None
    assert Ticket.objects.get(pk=ticket.pk).version == version
    assert ticket.thread.events.count() == events


def test_the_signature_is_appended_only_when_asked(cast, ticket, signature):
    plain = services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Done.").entry
    signed = services.ticket_post_reply(
        actor=cast.agent_a, ticket=ticket, body="Done.", signature=True
    ).entry
    html = services.ticket_post_reply(
        actor=cast.agent_a, ticket=ticket, body="<p>Done.</p>", fmt="html", signature=True
    ).entry

    assert plain.body_text == "Done."
    assert signed.body_text == "Done.\n\n-- \nAlex\nSupport"
    assert html.body_html == "<p>Done.</p><p>-- <br>Alex<br>Support</p>"


def test_no_signature_for_an_agent_without_one_or_the_system(cast, ticket, signature):
    cast.manager_a.signature = ""
    cast.manager_a.save()
    unsigned = services.ticket_post_reply(
        actor=cast.manager_a, ticket=ticket, body="Checked.", signature=True
    )
    by_system = services.ticket_post_reply(
        actor=SYSTEM, ticket=ticket, body="Automatic.", signature=True
    )

    assert unsigned.entry.body_text == "Checked."
    assert by_system.entry.body_text == "Automatic."


def test_a_signature_alone_is_no_reply(cast, ticket, signature, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as refused:
        services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="  ", signature=True)

    assert refused.value.code == "empty_body"
    assert _last_response(ticket) is None


def test_the_panel_and_the_api_give_the_same_response(cast, ticket, signature):
    dana = _dana(ticket)

    panel = _panel_reply(cast.agent_a, ticket, body="Fixed.", cc=[str(dana.pk)], signature="mine")
    by_panel = _last_response(ticket)
    api = _api_reply(cast.agent_a, ticket, body="Fixed.", cc=[dana.pk], signature=True)
    by_api = _last_response(ticket)

    assert (panel.status_code, api.status_code) == (302, 201)
    assert by_panel.pk != by_api.pk
    assert (
        by_panel.recipients == by_api.recipients == {"to": [cast.alice.email], "cc": [dana.email]}
    )
    assert by_panel.body_text == by_api.body_text == "Fixed.\n\n-- \nAlex\nSupport"


def test_the_api_reply_without_a_choice_goes_to_every_active_collaborator(cast, ticket):
    response = _api_reply(cast.agent_a, ticket, body="Fixed.")

    assert response.status_code == 201
    assert _last_response(ticket).recipients == {
        "to": [cast.alice.email],
        "cc": _active_by_name(cast, ticket),
    }
    assert _last_response(ticket).body_text == "Fixed."


def test_the_api_refuses_a_stranger_in_cc_with_nothing_written(cast, ticket, nothing_written):
    client = _api(cast.agent_a)

    with nothing_written():
        response = _post_reply(client, ticket, body="Fixed.", cc=[cast.stranger.pk])

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cc"
    assert _last_response(ticket) is None
    assert not ticket.thread.events.filter(kind=ThreadEvent.Kind.RESPONSE).exists()


@pytest.mark.parametrize("extra", [{"cc": []}, {"signature": True}])
def test_the_api_takes_recipients_and_signature_on_replies_only(
    cast, ticket, extra, nothing_written
):
    client = _api(cast.agent_a)
    entries = ticket.thread.entries.count()

    with nothing_written():
        response = client.post(
            f"/api/v1/tickets/{ticket.number}/entries/",
            {"kind": "note", "body": "Internal.", **extra},
            format="json",
        )

    assert response.status_code == 422
    assert response.json()["errors"] == {name: ["Only with a reply."] for name in extra}
    assert ticket.thread.entries.count() == entries
