"""Auto-replies and bounces never reopen, change or notify; a hard bounce stops mail to
the address until an agent clears it or verified mail from it arrives."""

import pytest
from django.core import mail

from accounts.actors import SYSTEM
from accounts.errors import PermissionRefused
from helpdesk.mail.ids import make_message_id
from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import OutboundMessage, UndeliverableAddress
from helpdesk.mail.services import address_clear_undeliverable
from threads.models import ThreadEntry
from tickets import services

from ..factories import status
from .conftest import authenticated, corpus, message

pytestmark = pytest.mark.usefixtures("authserv")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


@pytest.fixture
def ticket(helpdesk, run):
    found = run(ingest, authenticated(corpus("plain.eml")), channel="email").ticket
    mail.outbox.clear()
    return found


def out_of_office(**headers) -> bytes:
    return authenticated(
        message(
            subject="Out of office: Printer on fire",
            body="I am away until Monday.",
            message_id="<ooo-1@acme.test>",
            headers={"In-Reply-To": "<plain-1@acme.test>", **headers},
        )
    )


@pytest.mark.parametrize(
    "headers",
    [{"Auto-Submitted": "auto-replied"}, {"X-Autoreply": "yes"}, {"Precedence": "bulk"}],
)
def test_an_auto_reply_never_reopens_a_closed_ticket_nor_mails_the_client(
    ticket, helpdesk, run, headers
):
    services.ticket_set_status(actor=helpdesk.agent_a, ticket=ticket, status=status("Closed"))
    mail.outbox.clear()
    sent_before = OutboundMessage.objects.count()

    result = run(ingest, out_of_office(**headers), channel="email")

    ticket.refresh_from_db()
    assert (result.status, result.ticket) == ("appended", ticket)
    assert (ticket.state, ticket.status.name, ticket.reopen_count) == ("closed", "Closed", 0)
    note = ticket.thread.entries.last()
    assert (note.kind, note.is_system, note.body_text) == (
        "note",
        True,
        "I am away until Monday.",
    )
    assert note.title.startswith("Automatic reply from alice@acme.test (")
    assert OutboundMessage.objects.count() == sent_before and mail.outbox == []


def test_an_auto_reply_leaves_an_answered_ticket_answered(ticket, helpdesk, run):
    services.ticket_post_reply(actor=helpdesk.agent_a, ticket=ticket, body="Fixed.")
    ticket.refresh_from_db()
    assert ticket.is_answered

    run(ingest, out_of_office(**{"Auto-Submitted": "auto-replied"}), channel="email")

    ticket.refresh_from_db()
    assert ticket.is_answered and ticket.state == "open"
    assert (
        not ticket.thread.entries.filter(kind=ThreadEntry.Kind.MESSAGE)
        .exclude(message_id="<plain-1@acme.test>")
        .exists()
    )


def _sent_to(ticket, recipient: str) -> str:
    mid = make_message_id(ticket.pk, None)
    OutboundMessage.objects.create(
        message_id=mid,
        template="ticket.reply",
        dedupe_key=f"r:{recipient}",
        ticket=ticket,
        recipient=recipient,
        from_email="support@helpdesk.test",
        subject="Re: Printer on fire",
        body_text="x",
        status="sent",
    )
    return mid


def dsn(original_id: str, *, status_code="5.1.1", action="failed") -> bytes:
    raw = corpus("bounce_dsn.eml", ORIGINAL_ID=original_id)
    raw = raw.replace(b"Status: 5.1.1", f"Status: {status_code}".encode())
    return raw.replace(b"Action: failed", f"Action: {action}".encode())


def test_a_hard_bounce_marks_the_address_and_mail_to_it_stops(ticket, helpdesk, run):
    services.ticket_add_collaborator(actor=helpdesk.agent_a, ticket=ticket, user=helpdesk.bob)
    ours = _sent_to(ticket, "bob@globex.test")
    run(ingest, dsn(ours).replace(b"gone@acme.test", b"bob@globex.test"), channel="email")
    assert UndeliverableAddress.objects.get().address == "bob@globex.test"
    mail.outbox.clear()

    run(services.ticket_post_reply, actor=helpdesk.agent_a, ticket=ticket, body="Done.")

    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    assert not OutboundMessage.objects.filter(
        recipient="bob@globex.test", entry__isnull=False
    ).exists()


@pytest.mark.parametrize(("code", "action"), [("4.2.2", "failed"), ("4.4.1", "delayed")])
def test_a_soft_bounce_marks_nothing(ticket, code, action):
    ingest(
        dsn(_sent_to(ticket, "gone@acme.test"), status_code=code, action=action), channel="email"
    )

    assert not UndeliverableAddress.objects.exists()


def test_a_bounce_not_naming_a_mail_we_sent_to_that_address_marks_nothing(ticket):
    ours = _sent_to(ticket, "someone@acme.test")  # the report names gone@acme.test

    ingest(dsn(ours), channel="email")
    ingest(dsn(make_message_id(ticket.pk, 99)).replace(b"dsn-1", b"dsn-2"), channel="email")

    assert not UndeliverableAddress.objects.exists()


def test_verified_mail_from_the_address_clears_it_unverified_mail_does_not(ticket, helpdesk):
    UndeliverableAddress.objects.create(address="alice@acme.test", reason="5.1.1")

    ingest(message(message_id="<u1@acme.test>"), channel="email")
    assert UndeliverableAddress.objects.filter(address="alice@acme.test").exists()

    ingest(authenticated(message(message_id="<u2@acme.test>")), channel="email")
    assert not UndeliverableAddress.objects.exists()


def test_an_agent_clears_an_address_a_client_may_not(helpdesk, nothing_written):
    UndeliverableAddress.objects.create(address="alice@acme.test", reason="5.1.1")

    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        address_clear_undeliverable(actor=helpdesk.alice, address="alice@acme.test")
    assert refusal.value.code == "permission_denied"
    assert UndeliverableAddress.objects.count() == 1

    assert address_clear_undeliverable(actor=helpdesk.agent_a, address="Alice@Acme.test")
    assert not UndeliverableAddress.objects.exists()
    assert not address_clear_undeliverable(actor=SYSTEM, address="alice@acme.test")
