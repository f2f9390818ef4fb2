"""The organization's account manager hears of its members' new tickets and messages
(osTicket's "Organization Account Manager" recipient); primary contacts added as
collaborators get the client notices."""

import pytest

from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import OutboundMessage

from ..factories import AgentFactory, ClientFactory, TeamFactory
from .conftest import message

pytestmark = pytest.mark.usefixtures("trust_mail")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


def _alerted(template):
    return sorted(
        OutboundMessage.objects.filter(template=template).values_list("recipient", flat=True)
    )


def test_the_account_manager_gets_the_new_ticket_and_message_alerts(helpdesk, run):
    kam = AgentFactory(username="kam", department=helpdesk.dept_b)
    helpdesk.acme.manager_agent = kam
    helpdesk.acme.save()

    ticket = run(ingest, message(), channel="email").ticket
    assert "kam@helpdesk.test" in _alerted("ticket.alert")

    reply = message(
        subject=f"Re: [#{ticket.number}] Printer on fire",
        message_id="<m2@acme.test>",
        headers={"In-Reply-To": "<m1@acme.test>"},
    )
    run(ingest, reply, channel="email")
    assert "kam@helpdesk.test" in _alerted("message.alert")


def test_a_team_as_account_manager_alerts_its_lead_and_members(helpdesk, run):
    lead = AgentFactory(username="lead", department=helpdesk.dept_b)
    member = AgentFactory(username="member", department=helpdesk.dept_b)
    helpdesk.acme.manager_team = TeamFactory(lead=lead, members=[member])
    helpdesk.acme.save()

    run(ingest, message(), channel="email")

    alerted = _alerted("ticket.alert")
    assert "lead@helpdesk.test" in alerted and "member@helpdesk.test" in alerted


def test_without_an_account_manager_nobody_else_is_alerted(helpdesk, run):
    run(ingest, message(), channel="email")
    assert _alerted("ticket.alert") == [
        "alex@helpdesk.test",
        "manager@helpdesk.test",
        "root@helpdesk.test",
    ]


def test_primary_contacts_added_as_collaborators_get_the_notices(helpdesk, run):
    boss = ClientFactory(email="boss@acme.test", organization=helpdesk.acme)
    boss.is_primary_contact = True
    boss.save()
    helpdesk.acme.collab_primary_contacts = True
    helpdesk.acme.save()
    ticket = run(ingest, message(), channel="email").ticket
    reply = message(
        subject=f"Re: [#{ticket.number}] Printer on fire",
        message_id="<m2@acme.test>",
        headers={"In-Reply-To": "<m1@acme.test>"},
    )
    run(ingest, reply, channel="email")

    assert "boss@acme.test" in _alerted("ticket.activity.notice")
