"""The import path: one message in, through the same ticket services as every channel."""

import pytest
from django.core import mail

from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import InboundMessage, OutboundMessage
from routing.models import BannedEmail
from threads.models import Collaborator, ThreadEntry
from tickets import services
from tickets.models import Ticket

from ..factories import open_ticket, status
from .conftest import RECORDS, corpus, message, the_record

# written before sender authentication: every sender is taken at its word
pytestmark = pytest.mark.usefixtures("trust_mail")


def test_a_new_message_opens_a_ticket_and_keeps_the_raw_bytes(helpdesk):
    raw = corpus("plain.eml")

    result = ingest(raw, channel="email")

    assert result.status == "created" and result.reason == ""
    ticket = result.ticket
    assert ticket.subject == "Printer on fire"
    assert ticket.requester == helpdesk.alice
    assert ticket.source == Ticket.Source.EMAIL
    assert ticket.department == helpdesk.dept_a
    entry = ticket.thread.entries.get()
    assert entry.kind == ThreadEntry.Kind.MESSAGE and entry.source == "email"
    assert entry.message_id == "<plain-1@acme.test>"
    assert entry.body_text == (
        "Hello,\n\nthe printer on the second floor is on fire. Café is closed too.\n\nAlice"
    )
    assert "Subject: Printer on fire" in entry.email_headers
    record = InboundMessage.objects.get()
    assert bytes(record.raw) == raw
    assert (record.status, record.ticket, record.entry, record.source) == (
        "created",
        ticket,
        entry,
        "pipe",
    )
    assert ticket.thread.events.get(kind="created").channel == "email"


def test_an_unknown_sender_becomes_a_client(helpdesk):
    result = ingest(message(sender="new@people.test", name="New Person"), channel="email")

    assert result.status == "created"
    assert result.ticket.requester.email == "new@people.test"
    assert result.ticket.requester.name == "New Person"
    assert not result.ticket.requester.is_agent


def test_the_same_message_twice_is_imported_once(helpdesk, nothing_written):
    raw = corpus("plain.eml")
    first = ingest(raw, channel="email")

    with nothing_written():
        second = ingest(raw, channel="email")

    assert second.status == "duplicate" and second.ticket == first.ticket
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.count() == 1


def test_the_same_content_with_other_trace_headers_is_a_duplicate_from_any_source(
    helpdesk, mailbox, nothing_written
):
    first = ingest(message(body="one message"), channel="email")
    fetched = b"Received: from mx2.helpdesk.test\r\nDelivered-To: support@helpdesk.test\r\n"
    fetched += message(body="one message").replace(b"\r\n", b"\n")  # LF line ends

    with nothing_written(only_new=(RECORDS,)) as watch:
        again = ingest(fetched, channel="email", mailbox=mailbox)

    assert (again.status, again.ticket) == ("duplicate", first.ticket)
    record = the_record(watch)
    assert (record["status"], record["ticket_id"]) == ("duplicate", first.ticket.pk)


DATE = {"Date": "Tue, 01 Dec 2026 10:00:00 +0000"}


def _other_path(raw: bytes) -> bytes:
    """The same message as another source hands it over: its own trace headers, LF."""
    fetched = b"Received: from mx2.helpdesk.test\r\nDelivered-To: support@helpdesk.test\r\n"
    return fetched + raw.replace(b"\r\n", b"\n")


def test_a_message_without_message_id_redelivered_from_another_source_is_a_duplicate(
    helpdesk, mailbox, nothing_written
):
    raw = message(message_id="", body="no id here", headers=DATE)
    first = ingest(raw, channel="email")

    with nothing_written(only_new=(RECORDS,)) as watch:
        again = ingest(_other_path(raw), channel="email", mailbox=mailbox)

    assert (first.status, again.status, again.ticket) == ("created", "duplicate", first.ticket)
    record = the_record(watch)
    assert (record["status"], record["ticket_id"]) == ("duplicate", first.ticket.pk)


def test_a_message_without_message_id_or_date_is_a_duplicate_only_byte_for_byte(
    helpdesk, mailbox, nothing_written
):
    """Nothing tells another delivery from a new message with the same words (a nightly
    "backup failed"), so only the same bytes are the same message: twice beats lost."""
    raw = message(message_id="", body="backup failed")
    first = ingest(raw, channel="email")

    with nothing_written():
        same_bytes = ingest(raw, channel="email")
    other_path = ingest(_other_path(raw), channel="email", mailbox=mailbox)

    assert (first.status, same_bytes.status, other_path.status) == (
        "created",
        "duplicate",
        "created",
    )
    assert Ticket.objects.count() == 2


def test_a_reused_message_id_with_other_content_is_imported_with_a_note(helpdesk):
    first = ingest(message(body="first message"), channel="email")

    again = ingest(message(body="another message, same Message-ID"), channel="email")

    assert again.status == "created" and again.ticket != first.ticket
    assert again.reason == "Message-ID seen before with other content."
    assert Ticket.objects.count() == 2
    message_entry, note = again.ticket.thread.entries.all()
    assert message_entry.body_text == "another message, same Message-ID"
    assert (note.kind, note.is_system, note.title) == ("note", True, "Message-ID seen before")
    earlier = InboundMessage.objects.get(ticket=first.ticket)
    assert note.body_text == (
        "This message reuses the Message-ID <m1@acme.test> of an earlier message "
        f"(inbound message {earlier.pk}) with other content: it was imported, not dropped "
        "as a duplicate."
    )
    assert InboundMessage.objects.filter(status="created").count() == 2


def test_a_reused_message_id_from_another_source_is_imported_too(helpdesk, mailbox):
    ingest(message(body="piped"), channel="email")

    again = ingest(message(body="fetched, other content"), channel="email", mailbox=mailbox)

    assert again.status == "created"
    assert Ticket.objects.count() == 2


def test_a_banned_sender_is_rejected_and_nothing_is_created(helpdesk, nothing_written):
    BannedEmail.objects.create(address="@evil.test")

    with nothing_written(only_new=(RECORDS,)) as watch:
        result = ingest(corpus("html_script.eml"), channel="email")

    assert result.status == "rejected" and result.exit_code == 0
    assert result.reason == "Denied: mallory@evil.test is banned."
    record = the_record(watch)
    assert (record["status"], record["reason"]) == ("rejected", result.reason)


def test_a_message_without_a_sender_is_parked_with_the_reason(helpdesk, nothing_written):
    with nothing_written(only_new=(RECORDS,)) as watch:
        result = ingest(corpus("no_from.eml"), channel="email")

    assert (result.status, result.exit_code) == ("parked", 0)
    assert result.reason == "The message has no valid sender address (From)."
    record = the_record(watch)
    assert (record["status"], record["reason"]) == ("parked", result.reason)


def test_garbage_bytes_are_parked_not_a_crash(helpdesk, nothing_written):
    with nothing_written(only_new=(RECORDS,)) as watch:
        result = ingest(corpus("garbage.eml"), channel="email")

    assert (result.status, result.reason) == (
        "parked",
        "The message has no valid sender address (From).",
    )
    record = the_record(watch)
    assert (record["status"], record["reason"]) == ("parked", result.reason)


def test_an_empty_message_is_parked(helpdesk, nothing_written):
    with nothing_written(only_new=(RECORDS,)) as watch:
        result = ingest(b"\r\n", channel="email")

    assert (result.status, result.reason) == ("parked", "The message is empty.")
    record = the_record(watch)
    assert (record["status"], record["reason"]) == ("parked", result.reason)


def test_mail_from_our_own_address_is_dropped(helpdesk, nothing_written):
    with nothing_written(only_new=(RECORDS,)) as watch:
        result = ingest(message(sender="support@helpdesk.test"), channel="email")

    assert (result.status, result.exit_code) == ("dropped", 0)
    assert result.reason == "Sent from one of our own addresses (mail loop)."
    record = the_record(watch)
    assert (record["status"], record["reason"]) == ("dropped", result.reason)


def test_cc_addresses_become_collaborators_but_not_our_own(helpdesk):
    result = ingest(corpus("cc.eml"), channel="email")

    collaborators = Collaborator.objects.filter(thread=result.ticket.thread)
    assert sorted(c.user.email for c in collaborators) == ["carl@acme.test", "dana@partner.test"]


def test_cc_addresses_stay_out_when_the_setting_is_off(helpdesk):
    from helpdesk.mail.models import MailSettings

    config = MailSettings.load()
    config.add_cc_collaborators = False
    config.save()

    result = ingest(corpus("cc.eml"), channel="email")

    assert not Collaborator.objects.filter(thread=result.ticket.thread).exists()


def test_the_mailbox_department_routes_new_tickets(helpdesk, mailbox):
    mailbox.department = helpdesk.dept_b
    mailbox.save()

    result = ingest(corpus("plain.eml"), channel="email", mailbox=mailbox)

    assert result.ticket.department == helpdesk.dept_b
    assert InboundMessage.objects.get().source_key == f"mailbox:{mailbox.pk}"


def test_a_client_over_the_open_ticket_limit_is_refused_with_a_notice(
    helpdesk, django_capture_on_commit_callbacks
):
    from tickets.models import HelpdeskSettings

    config = HelpdeskSettings.load()
    config.max_open_tickets = 1
    config.save()
    open_ticket(helpdesk.alice, department=helpdesk.dept_a)

    with django_capture_on_commit_callbacks(execute=True):
        result = ingest(corpus("plain.eml"), channel="email")

    assert result.status == "rejected"
    assert result.reason == "Refused: alice@acme.test already has 1 open tickets, the most allowed."
    assert Ticket.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    assert mail.outbox[0].subject == "Open ticket limit reached"
    assert OutboundMessage.objects.get().template == "ticket.overlimit"


@pytest.mark.parametrize("closed_status", ["Closed"])
def test_a_reply_to_a_closed_ticket_that_cannot_reopen_opens_a_new_ticket(helpdesk, closed_status):
    first = ingest(corpus("plain.eml"), channel="email").ticket
    closed = status(closed_status)
    closed.allow_reopen = False
    closed.save()
    services.ticket_set_status(actor=helpdesk.agent_a, ticket=first, status=closed)

    result = ingest(
        corpus("reply_quoted.eml", IN_REPLY_TO="<plain-1@acme.test>", NUMBER=first.number),
        channel="email",
    )

    assert result.status == "created"
    assert result.ticket != first
    assert first.thread.entries.count() == 1


def test_the_migration_gives_existing_records_their_content_hash(helpdesk, mailbox):
    import importlib

    from django.apps import apps

    from helpdesk.mail.fingerprint import content_hash

    migration = importlib.import_module(
        "helpdesk.mail.migrations.0004_sender_verdict_content_hash_undeliverable"
    )
    ingest(message(body="same"), channel="email")
    ingest(b"Received: by mx\r\n" + message(body="same"), channel="email", mailbox=mailbox)
    InboundMessage.objects.update(content_hash="")

    migration.fill_content_hashes(apps, None)

    first, second = InboundMessage.objects.order_by("pk")
    assert first.content_hash == content_hash(bytes(first.raw)) == content_hash(bytes(second.raw))
    assert second.status == "duplicate"  # the unique constraint leaves duplicates out


def test_the_migration_gives_old_rows_without_message_id_their_hash_and_keeps_them_apart(
    helpdesk,
):
    """Rows recorded before: a message without a Message-ID imported twice (two paths)
    and one without a Date. The first keeps the content hash, the second its byte hash
    (the constraint would refuse two), the one without a Date its byte hash."""
    import importlib

    from django.apps import apps

    from helpdesk.mail.fingerprint import content_hash
    from helpdesk.mail.parsing import sha256

    migration = importlib.import_module(
        "helpdesk.mail.migrations.0006_dedupe_mail_without_message_id"
    )
    dated = message(message_id="", body="no id", headers=DATE)
    raws = [dated, _other_path(dated), message(message_id="", body="no date")]
    for n, raw in enumerate(raws):
        InboundMessage.objects.create(
            source="pipe", source_key="pipe", sha256=sha256(raw), content_hash=f"old-{n}",
            raw=raw, size=len(raw), status="created",
        )  # fmt: skip

    migration.rehash_mail_without_message_id(apps, None)

    assert list(InboundMessage.objects.order_by("id").values_list("content_hash", flat=True)) == [
        content_hash(dated),
        sha256(raws[1]),
        sha256(raws[2]),
    ]
