"""Mail is not proof of identity: an unverified message may open a ticket for its own
address, but may not join, reopen or change one, post as an agent or add people; a
non-participant's reply never reaches the requester."""

import pytest
from django.core import mail

from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import InboundMessage, OutboundMessage
from threads.models import Collaborator, ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import TicketLink

from ..factories import status
from .conftest import RECORDS, authenticated, corpus, message, the_record

pytestmark = pytest.mark.usefixtures("authserv")
REPLY = {"In-Reply-To": "<plain-1@acme.test>"}


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


@pytest.fixture
def first(helpdesk, run):
    """alice's ticket, opened by an authenticated message; its mail already sent."""
    ticket = run(ingest, authenticated(corpus("plain.eml")), channel="email").ticket
    mail.outbox.clear()
    return ticket


def linked(ticket) -> list[int]:
    return sorted(
        TicketLink.objects.filter(low_id=ticket.pk).values_list("high_id", flat=True)
    ) + sorted(TicketLink.objects.filter(high_id=ticket.pk).values_list("low_id", flat=True))


def test_an_authenticated_reply_from_the_requester_joins_the_ticket(first, run):
    raw = authenticated(message(message_id="<r1@acme.test>", headers=REPLY))

    result = run(ingest, raw, channel="email")

    assert (result.status, result.ticket) == ("appended", first)
    record = InboundMessage.objects.get(message_id="<r1@acme.test>")
    assert (record.sender_verified, record.sender_check) == (True, "verified: dmarc=pass")


def test_an_unverified_reply_opens_a_new_ticket_linked_to_the_one_it_names(first, run):
    events = ThreadEvent.objects.filter(thread=first.thread).count()

    result = run(ingest, message(message_id="<r2@acme.test>", headers=REPLY), channel="email")

    assert result.status == "created" and result.ticket != first
    assert result.reason == (
        "Unverified sender (no trusted Authentication-Results): opened as a new ticket "
        f"linked to #{first.number}."
    )
    assert linked(first) == [result.ticket.pk]
    assert first.thread.entries.count() == 1
    assert ThreadEvent.objects.filter(thread=first.thread).count() == events + 1  # "linked"
    record = InboundMessage.objects.get(message_id="<r2@acme.test>")
    assert (record.sender_verified, record.sender_check) == (
        False,
        "unverified sender: no trusted Authentication-Results",
    )


def test_an_unverified_subject_tag_does_not_join_the_ticket(first):
    raw = message(subject=f"Re: [#{first.number}]", message_id="<r3@acme.test>")

    result = ingest(raw, channel="email")

    assert result.status == "created" and result.ticket != first
    assert first.thread.entries.count() == 1


def test_a_header_from_another_authserv_id_does_not_verify(first):
    raw = b"Authentication-Results: mx.evil.test; dmarc=pass header.from=acme.test\r\n"
    raw += message(message_id="<r4@acme.test>", headers=REPLY)

    result = ingest(raw, channel="email")

    assert result.status == "created" and result.ticket != first
    assert first.thread.entries.count() == 1


def test_a_forged_trusted_header_below_ours_cannot_join_the_ticket(first, run):
    raw = authenticated(
        message(message_id="<r7@acme.test>", body="Forged.", headers=REPLY),
        result="dmarc=pass header.from=acme.test",
    )  # the sender's own header, with our id
    raw = authenticated(raw, result="spf=pass smtp.mailfrom=bounce@evil.test")  # ours, on top
    entries = list(first.thread.entries.values_list("pk", flat=True))

    result = run(ingest, raw, channel="email")

    assert result.status == "created" and result.ticket != first
    assert list(first.thread.entries.values_list("pk", flat=True)) == entries
    assert linked(first) == [result.ticket.pk]
    assert InboundMessage.objects.get(message_id="<r7@acme.test>").sender_check == (
        "unverified sender: no aligned pass (spf=pass)"
    )


def test_dmarc_fail_for_the_from_domain_is_unverified(first):
    raw = authenticated(message(message_id="<r5@acme.test>", headers=REPLY), result="dmarc=fail")

    result = ingest(raw, channel="email")

    assert result.ticket != first
    assert InboundMessage.objects.get(message_id="<r5@acme.test>").sender_check == (
        "unverified sender: dmarc=fail"
    )


def test_an_unverified_reply_cannot_reopen_a_closed_ticket(first, helpdesk):
    services.ticket_set_status(actor=helpdesk.agent_a, ticket=first, status=status("Closed"))

    result = ingest(message(message_id="<r6@acme.test>", headers=REPLY), channel="email")

    first.refresh_from_db()
    assert first.state == "closed" and first.reopen_count == 0
    assert result.ticket != first


def test_unverified_mail_from_an_agent_address_never_posts_a_response(first, run):
    raw = message(
        sender="alex@helpdesk.test", body="Refund granted.", message_id="<a1@x.test>", headers=REPLY
    )

    result = run(ingest, raw, channel="email")

    assert result.ticket != first
    assert not ThreadEntry.objects.filter(kind=ThreadEntry.Kind.RESPONSE).exists()
    assert result.reason == (
        "Unverified sender (no trusted Authentication-Results): "
        f"opened as a new ticket linked to #{first.number}."
    )
    to_clients = OutboundMessage.objects.filter(recipient_is_agent=False)
    assert not to_clients.filter(body_text__contains="Refund granted.").exists()


def test_an_authenticated_agent_reply_posts_a_response(first, helpdesk):
    raw = authenticated(
        message(sender="alex@helpdesk.test", message_id="<a2@x.test>", headers=REPLY),
        domain="helpdesk.test",
    )

    result = ingest(raw, channel="email")

    assert (result.status, result.reason) == ("appended", "Response by email.")
    assert first.thread.entries.last().kind == ThreadEntry.Kind.RESPONSE


def test_policy_internal_note_keeps_it_as_a_note_marked_unverified_and_mails_no_one(
    first, run, settings, helpdesk
):
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "UNVERIFIED_POLICY": "internal_note"}
    services.ticket_set_status(actor=helpdesk.agent_a, ticket=first, status=status("Closed"))
    outbound_before = OutboundMessage.objects.count()
    raw = message(
        sender="alex@helpdesk.test",
        body="Please wire the money.",
        message_id="<a3@x.test>",
        headers={**REPLY, "Cc": "dana@partner.test"},
    )

    result = run(ingest, raw, channel="email")

    first.refresh_from_db()
    note = first.thread.entries.last()
    assert (result.status, result.ticket) == ("appended", first)
    assert (note.kind, note.is_system, note.body_text) == ("note", True, "Please wire the money.")
    assert note.title == "Unverified sender: alex@helpdesk.test (no trusted Authentication-Results)"
    assert first.state == "closed"
    assert OutboundMessage.objects.count() == outbound_before and mail.outbox == []
    assert not Collaborator.objects.filter(thread=first.thread).exists()


def test_unverified_cc_addresses_never_become_collaborators(helpdesk):
    result = ingest(corpus("cc.eml"), channel="email")

    assert result.status == "created"
    assert not Collaborator.objects.filter(thread=result.ticket.thread).exists()


def test_authenticated_cc_addresses_become_collaborators(helpdesk):
    result = ingest(authenticated(corpus("cc.eml")), channel="email")

    assert sorted(
        Collaborator.objects.filter(thread=result.ticket.thread).values_list(
            "user__email", flat=True
        )
    ) == ["carl@acme.test", "dana@partner.test"]


def test_a_non_participants_reply_opens_a_linked_ticket_and_never_reaches_the_requester(first, run):
    raw = authenticated(
        message(
            sender="bob@globex.test",
            body="Secret offer for alice.",
            message_id="<b1@globex.test>",
            headers={**REPLY, "Cc": "alice@acme.test"},
        ),
        domain="globex.test",
    )

    result = run(ingest, raw, channel="email")

    assert result.status == "created" and result.ticket != first
    assert result.ticket.requester.email == "bob@globex.test"
    assert result.reason == (
        f"bob@globex.test is not a participant of #{first.number}: opened as a new ticket "
        f"linked to #{first.number}."
    )
    assert linked(first) == [result.ticket.pk]
    assert first.thread.entries.count() == 1
    assert not Collaborator.objects.filter(thread=result.ticket.thread).exists()
    assert [m for m in mail.outbox if "alice@acme.test" in m.to] == []
    assert (
        not OutboundMessage.objects.filter(body_text__contains="Secret offer")
        .exclude(recipient_is_agent=True)
        .exclude(recipient="bob@globex.test")
        .exists()
    )


def test_a_collaborator_is_a_participant(first, helpdesk):
    services.ticket_add_collaborator(actor=helpdesk.agent_a, ticket=first, user=helpdesk.bob)
    raw = authenticated(
        message(sender="bob@globex.test", message_id="<b2@globex.test>", headers=REPLY),
        domain="globex.test",
    )

    result = ingest(raw, channel="email")

    assert (result.status, result.ticket) == ("appended", first)


def test_an_agent_who_cannot_see_the_ticket_is_not_a_participant(first, helpdesk):
    raw = authenticated(
        message(sender=helpdesk.agent_b.email, message_id="<a4@x.test>", headers=REPLY),
        domain=helpdesk.agent_b.email.rpartition("@")[2],
    )

    result = ingest(raw, channel="email")

    assert result.status == "created" and result.ticket != first
    assert first.thread.entries.count() == 1


def test_a_from_hiding_an_address_is_unverified_even_with_dmarc_pass(first):
    raw = authenticated(
        b'From: "alice@acme.test" <mallory@evil.test>\r\nSubject: Re: x\r\n'
        b"Message-ID: <m1@evil.test>\r\nIn-Reply-To: <plain-1@acme.test>\r\n\r\nPay me.\r\n",
        domain="evil.test",
    )

    result = ingest(raw, channel="email")

    assert result.ticket != first and result.ticket.requester.email == "mallory@evil.test"
    assert InboundMessage.objects.get(message_id="<m1@evil.test>").sender_check == (
        "unverified sender: From hides another address in its display name"
    )


@pytest.fixture
def one_open_ticket_each(helpdesk):
    from tickets.models import HelpdeskSettings

    from ..factories import open_ticket

    config = HelpdeskSettings.load()
    config.max_open_tickets = 1
    config.save()
    return open_ticket(helpdesk.alice, department=helpdesk.dept_a)


def test_the_over_limit_notice_never_goes_to_an_unverified_sender(
    one_open_ticket_each, run, nothing_written
):
    with nothing_written(only_new=(RECORDS,)) as watch:
        result = run(ingest, message(message_id="<o1@acme.test>"), channel="email")

    assert result.status == "rejected"
    assert result.reason == "Refused: alice@acme.test already has 1 open tickets, the most allowed."
    record = the_record(watch)
    assert (record["status"], record["reason"]) == ("rejected", result.reason)


def test_the_over_limit_notice_goes_to_a_verified_sender(one_open_ticket_each, run):
    result = run(ingest, authenticated(message(message_id="<o2@acme.test>")), channel="email")

    assert result.status == "rejected"
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["alice@acme.test"], "Open ticket limit reached")
    ]
