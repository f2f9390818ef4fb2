"""Replies join their ticket: by Message-ID first, the subject tag only for participants."""

import pytest

from helpdesk.mail.ids import make_message_id
from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import OutboundMessage
from threads.models import ThreadEntry
from tickets import services
from tickets.models import Ticket

from ..factories import AgentFactory, role, status
from .conftest import corpus, message

# written before sender authentication: every sender is taken at its word
pytestmark = pytest.mark.usefixtures("trust_mail")


def _first(helpdesk) -> Ticket:
    return ingest(corpus("plain.eml"), channel="email").ticket


def test_a_reply_citing_the_first_message_joins_the_ticket_without_the_quote(helpdesk):
    ticket = _first(helpdesk)

    result = ingest(
        corpus("reply_quoted.eml", IN_REPLY_TO="<plain-1@acme.test>", NUMBER="000000"),
        channel="email",
    )

    assert (result.status, result.ticket) == ("appended", ticket)
    assert result.reason == "Threaded by a Message-ID we received."
    entry = ticket.thread.entries.last()
    assert entry.kind == ThreadEntry.Kind.MESSAGE and entry.poster == helpdesk.alice
    assert entry.body_text == "Thanks, it works again."
    assert entry.message_id == "<reply-1@acme.test>"


def test_a_reply_citing_our_outgoing_message_id_joins_the_ticket(helpdesk):
    ticket = _first(helpdesk)
    ours = make_message_id(ticket.pk, None)
    OutboundMessage.objects.create(
        message_id=ours,
        template="ticket.reply",
        dedupe_key="x",
        ticket=ticket,
        recipient="alice@acme.test",
        from_email="support@helpdesk.test",
        subject="Re: Printer on fire",
        body_text="We replaced the toner.",
    )

    result = ingest(
        message(subject="no tag here", message_id="<r2@acme.test>", headers={"In-Reply-To": ours}),
        channel="email",
    )

    assert (result.status, result.ticket) == ("appended", ticket)
    assert result.reason == "Threaded by our Message-ID."


def test_our_signed_message_id_threads_even_without_the_outbound_row(helpdesk):
    ticket = _first(helpdesk)

    result = ingest(
        message(
            message_id="<r3@acme.test>",
            headers={"References": f"<x@y.test> {make_message_id(ticket.pk, 7)}"},
        ),
        channel="email",
    )

    assert result.ticket == ticket and result.status == "appended"


def test_a_forged_message_id_of_ours_is_ignored(helpdesk):
    ticket = _first(helpdesk)
    forged = make_message_id(ticket.pk, 7).replace(f"<hd.{ticket.pk}.", f"<hd.{ticket.pk + 1}.")
    victim = services.ticket_open(
        actor=helpdesk.bob,
        new=services.NewTicket(requester=helpdesk.bob, subject="Private", body="Mine."),
    )
    assert victim.pk == ticket.pk + 1

    result = ingest(
        message(message_id="<r4@acme.test>", headers={"In-Reply-To": forged}), channel="email"
    )

    assert result.status == "created"
    assert result.ticket not in (ticket, victim)
    assert victim.thread.entries.count() == 1


def test_the_subject_tag_threads_for_the_requester(helpdesk):
    ticket = _first(helpdesk)

    result = ingest(
        message(subject=f"Re: Printer [#{ticket.number}]", message_id="<r5@acme.test>"),
        channel="email",
    )

    assert (result.status, result.ticket, result.reason) == (
        "appended",
        ticket,
        "Threaded by subject tag.",
    )


def test_the_subject_tag_threads_for_a_collaborator(helpdesk):
    ticket = _first(helpdesk)
    services.ticket_add_collaborator(actor=helpdesk.agent_a, ticket=ticket, user=helpdesk.bob)

    result = ingest(
        message(
            sender="bob@globex.test",
            subject=f"Re: [#{ticket.number}]",
            message_id="<r6@globex.test>",
        ),
        channel="email",
    )

    assert (result.status, result.ticket) == ("appended", ticket)
    assert ticket.thread.entries.last().poster == helpdesk.bob


def test_the_subject_tag_from_a_stranger_opens_a_new_ticket(helpdesk):
    ticket = _first(helpdesk)

    result = ingest(
        message(
            sender="stranger@nowhere.test",
            subject=f"Re: Printer on fire [#{ticket.number}]",
            message_id="<r7@nowhere.test>",
        ),
        channel="email",
    )

    assert result.status == "created" and result.ticket != ticket
    assert ticket.thread.entries.count() == 1


def test_an_html_reply_loses_its_gmail_quote(helpdesk):
    ticket = _first(helpdesk)

    ingest(corpus("reply_html_gmail.eml", IN_REPLY_TO="<plain-1@acme.test>"), channel="email")

    entry = ticket.thread.entries.last()
    assert entry.body_text == "Still broken, sorry."
    assert "toner" not in entry.body_html


def test_text_after_our_reply_separator_is_cut(helpdesk):
    ticket = _first(helpdesk)
    body = "Fine now.\n\n-- reply above this line --\nOld text from us."

    ingest(
        message(
            body=body, message_id="<r8@acme.test>", headers={"In-Reply-To": "<plain-1@acme.test>"}
        ),
        channel="email",
    )

    assert ticket.thread.entries.last().body_text == "Fine now."


def test_a_reply_that_is_all_quote_keeps_the_whole_body(helpdesk):
    ticket = _first(helpdesk)
    body = "-- reply above this line --\nOnly the old text."

    ingest(
        message(
            body=body, message_id="<r9@acme.test>", headers={"In-Reply-To": "<plain-1@acme.test>"}
        ),
        channel="email",
    )

    assert ticket.thread.entries.last().body_text == body


def test_a_reply_reopens_a_closed_ticket_that_allows_it(helpdesk):
    ticket = _first(helpdesk)
    services.ticket_set_status(actor=helpdesk.agent_a, ticket=ticket, status=status("Closed"))

    result = ingest(
        message(message_id="<r10@acme.test>", headers={"In-Reply-To": "<plain-1@acme.test>"}),
        channel="email",
    )

    ticket.refresh_from_db()
    assert (result.status, result.ticket) == ("appended", ticket)
    assert ticket.state == "open" and ticket.reopen_count == 1


def test_an_agent_replying_by_email_posts_a_response(helpdesk):
    ticket = _first(helpdesk)

    result = ingest(
        message(
            sender="alex@helpdesk.test",
            body="We ordered a new printer.\n\nOn Mon, Alice wrote:\n> fire",
            message_id="<a1@helpdesk.test>",
            headers={"In-Reply-To": "<plain-1@acme.test>"},
        ),
        channel="email",
    )

    entry = ticket.thread.entries.last()
    assert (result.status, result.reason) == ("appended", "Response by email.")
    assert (entry.kind, entry.poster, entry.body_text) == (
        ThreadEntry.Kind.RESPONSE,
        helpdesk.agent_a,
        "We ordered a new printer.",
    )
    assert ticket.thread.events.last().channel == "email"


def test_an_agent_reply_starting_with_the_marker_is_an_internal_note(helpdesk):
    ticket = _first(helpdesk)

    result = ingest(
        message(
            sender="alex@helpdesk.test",
            body="#note\nThe client's printer is out of warranty.",
            message_id="<a2@helpdesk.test>",
            headers={"In-Reply-To": "<plain-1@acme.test>"},
        ),
        channel="email",
    )

    entry = ticket.thread.entries.last()
    assert result.reason == "Internal note by email."
    assert (entry.kind, entry.poster, entry.body_text) == (
        ThreadEntry.Kind.NOTE,
        helpdesk.agent_a,
        "The client's printer is out of warranty.",
    )


def test_an_agent_without_reply_permission_gets_an_internal_note_instead(helpdesk):
    ticket = _first(helpdesk)
    AgentFactory(username="viewer", department=helpdesk.dept_a, role=role("View only"))

    result = ingest(
        message(
            sender="viewer@helpdesk.test",
            body="Let me answer.",
            message_id="<a3@helpdesk.test>",
            headers={"In-Reply-To": "<plain-1@acme.test>"},
        ),
        channel="email",
    )

    entry = ticket.thread.entries.last()
    assert entry.kind == ThreadEntry.Kind.NOTE
    assert entry.title == (
        "Emailed reply kept as an internal note: Your role in Support does not allow ticket.reply."
    )
    assert result.reason == "Kept as a note: Your role in Support does not allow ticket.reply."
    assert not ticket.thread.entries.filter(kind=ThreadEntry.Kind.RESPONSE).exists()


def test_cc_on_a_reply_adds_collaborators(helpdesk):
    ticket = _first(helpdesk)

    ingest(
        message(
            message_id="<r11@acme.test>",
            headers={"In-Reply-To": "<plain-1@acme.test>", "Cc": "dana@partner.test"},
        ),
        channel="email",
    )

    assert list(ticket.thread.collaborators.values_list("user__email", flat=True)) == [
        "dana@partner.test"
    ]
