"""A reply's signature, as osTicket: no signature, the agent's, or the department's,
chosen on each reply (the panel's default from the agent's profile, sign_replies), and
appended to the response by the reply service (tickets.services.entries.signature_text)
whatever the channel. The reply mail carries the chosen one only."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.actors import SYSTEM
from accounts.apikeys import token_create
from accounts.errors import ValidationFailed
from helpdesk.panel.models import AgentPreferences
from threads.models import ThreadEntry
from tickets import services
from tickets.models import Ticket

from ..factories import open_ticket
from ..nowrite import nothing_written
from ..panel.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(cast):
    cast.agent_a.signature = "Alex\nSupport"
    cast.agent_a.save()
    cast.dept_a.signature = "The Support team\nExt. 100"
    cast.dept_a.email = "support@helpdesk.test"
    cast.dept_a.save()
    return open_ticket(cast.alice, department=cast.dept_a, subject="VPN down")


def _reply(cast, ticket, **kw):
    return services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Done.", **kw).entry


def _responses(ticket):
    return ThreadEntry.objects.filter(thread_id=ticket.thread_id, kind="response")


def test_the_department_signature_is_appended_when_chosen(cast, ticket):
    assert _reply(cast, ticket, signature="dept").body_text == (
        "Done.\n\n-- \nThe Support team\nExt. 100"
    )
    html = services.ticket_post_reply(
        actor=cast.agent_a, ticket=ticket, body="<p>Done.</p>", fmt="html", signature="dept"
    ).entry
    assert html.body_html == "<p>Done.</p><p>-- <br>The Support team<br>Ext. 100</p>"
    assert _reply(cast, ticket, signature="mine").body_text == "Done.\n\n-- \nAlex\nSupport"
    assert _reply(cast, ticket, signature="none").body_text == "Done."


def test_a_private_department_or_one_without_a_signature_signs_nothing(cast, ticket):
    cast.dept_a.is_public = False
    cast.dept_a.save()
    assert _reply(cast, ticket, signature="dept").body_text == "Done."
    assert services.signature_choices(cast.agent_a, cast.dept_a) == [
        ("none", "No signature"),
        ("mine", "My signature"),
    ]


def test_an_unknown_signature_is_refused_and_nothing_is_written(cast, ticket):
    with nothing_written(), pytest.raises(ValidationFailed) as refused:
        _reply(cast, ticket, signature="boss")
    assert refused.value.code == "invalid_signature"


def test_the_reply_mail_carries_the_chosen_signature_once(
    cast, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _reply(cast, ticket, signature="dept")
    [sent] = [m for m in mail.outbox if m.to == [cast.alice.email]]
    assert sent.body.count("The Support team") == 1

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _reply(cast, ticket, signature="none")
    [sent] = [m for m in mail.outbox if m.to == [cast.alice.email]]
    assert "The Support team" not in sent.body and "Alex" not in sent.body


# --- the panel -------------------------------------------------------------------------------


def _page(client, ticket) -> str:
    return client.get(f"/scp/tickets/{ticket.number}/").content.decode()


def _checked(page: str) -> list[str]:
    tags = re.findall(r'<input[^>]*name="signature"[^>]*>', page)
    return [re.search(r'value="([^"]*)"', t).group(1) for t in tags if "checked" in t]


def test_the_reply_form_offers_the_three_choices_defaulting_to_the_profile(cast, ticket):
    client = signed_in(cast.agent_a)
    AgentPreferences.objects.update_or_create(agent=cast.agent_a, defaults={"sign_replies": False})
    page = _page(client, ticket)
    for value in ("none", "mine", "dept"):
        assert f'name="signature" value="{value}"' in page
    assert _checked(page) == ["none"]
    assert "Ext. 100" in page  # the department's signature is previewed

    AgentPreferences.objects.update_or_create(agent=cast.agent_a, defaults={"sign_replies": True})
    assert _checked(_page(client, ticket)) == ["mine"]


def test_the_panel_signs_a_reply_with_the_department_signature(cast, ticket):
    client = signed_in(cast.agent_a)
    ticket = Ticket.objects.get(pk=ticket.pk)
    response = client.post(
        f"/scp/tickets/{ticket.number}/reply/",
        {"body": "Done.", "version": ticket.version, "signature": "dept"},
    )
    assert response.status_code == 302
    assert _responses(ticket).get().body_text == "Done.\n\n-- \nThe Support team\nExt. 100"


def test_a_signature_not_offered_is_refused_by_the_panel(cast, ticket):
    cast.dept_a.signature = ""
    cast.dept_a.save()
    client = signed_in(cast.agent_a)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert 'value="dept"' not in _page(client, ticket)
    with nothing_written(ignore=("accounts.user.last_login",)):
        response = client.post(
            f"/scp/tickets/{ticket.number}/reply/",
            {"body": "Done.", "version": ticket.version, "signature": "dept"},
        )
    assert response.status_code == 422


# --- the API and the admin -------------------------------------------------------------------


def _api(agent) -> APIClient:
    _, secret = token_create(actor=SYSTEM, user=agent, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_the_api_takes_the_same_choice(cast, ticket):
    client = _api(cast.agent_a)
    url = f"/api/v1/tickets/{ticket.number}/entries/"
    signed = client.post(
        url, {"kind": "reply", "body": "Done.", "signature": "dept"}, format="json"
    )
    assert signed.status_code == 201, signed.content
    assert signed.json()["body_text"] == "Done.\n\n-- \nThe Support team\nExt. 100"
    with nothing_written(ignore=("accounts.agenttoken.last_used_at",)):
        bad = client.post(
            url, {"kind": "reply", "body": "Done.", "signature": "boss"}, format="json"
        )
        note = client.post(url, {"kind": "note", "body": "x", "signature": "dept"}, format="json")
    assert bad.status_code == 422 and note.status_code == 422


def test_the_department_signature_is_edited_in_the_admin(client, cast):
    client.force_login(cast.admin)
    url = reverse("admin:routing_department_change", args=[cast.dept_a.pk])
    page = client.get(url).content.decode()
    assert 'name="signature"' in page
