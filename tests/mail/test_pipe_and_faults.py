"""The MTA pipe (sysexits), bounces, crashes half-way, and a database outage."""

import io
import sys

import pytest
from django.core.management import call_command
from django.db import OperationalError

from helpdesk.mail import inbound
from helpdesk.mail.ids import make_message_id
from helpdesk.mail.inbound import TemporaryFailure, ingest
from helpdesk.mail.models import InboundMessage, OutboundMessage
from routing.models import BannedEmail, FilterAction, FilterRule, TicketFilter
from threads.models import ThreadEntry
from tickets.models import HelpdeskSettings, Ticket

from ..factories import open_ticket
from .conftest import RECORDS, corpus, message, the_record

# written before sender authentication: every sender is taken at its word
pytestmark = pytest.mark.usefixtures("trust_mail")


def pipe(monkeypatch, raw: bytes) -> tuple[int, str, str]:
    """Run `manage.py ingest_email` with `raw` on standard input."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ingest_email", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue().strip(), err.getvalue().strip()


def test_pipe_accepts_a_message_with_exit_0(helpdesk, monkeypatch):
    code, out, err = pipe(monkeypatch, corpus("plain.eml"))

    ticket = Ticket.objects.get()
    assert (code, out, err) == (0, f"created #{ticket.number}", "")
    assert InboundMessage.objects.get().source == "pipe"


def test_pipe_exits_0_for_a_duplicate(helpdesk, monkeypatch, nothing_written):
    pipe(monkeypatch, corpus("plain.eml"))

    with nothing_written():  # the same bytes: not even recorded again
        code, out, _ = pipe(monkeypatch, corpus("plain.eml"))

    ticket = Ticket.objects.get()
    assert (code, out) == (0, f"duplicate #{ticket.number}: already imported")


def _ban(helpdesk):
    BannedEmail.objects.create(address="alice@acme.test")
    return "rejected: Denied: alice@acme.test is banned."


def _filter_reject(helpdesk):
    flt = TicketFilter.objects.create(name="No fire")
    FilterRule.objects.create(filter=flt, field="subject", operator="contains", value="fire")
    FilterAction.objects.create(filter=flt, kind="reject", value="Fire is not our business.")
    return "rejected: Denied: Fire is not our business."


def _open_ticket_limit(helpdesk):
    config = HelpdeskSettings.load()
    config.max_open_tickets = 1
    config.save()
    open_ticket(helpdesk.alice, department=helpdesk.dept_a)
    return "rejected: Refused: alice@acme.test already has 1 open tickets, the most allowed."


@pytest.mark.parametrize("refusal", [_ban, _filter_reject, _open_ticket_limit])
def test_pipe_exits_0_for_a_rejected_message_so_the_mta_sends_no_backscatter(
    helpdesk, monkeypatch, settings, refusal, nothing_written
):
    """A rejection (ban list, filter, open-ticket limit) is recorded, not bounced: the
    MTA would bounce it to a From that may be forged. Nothing else is written."""
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "UNVERIFIED_POLICY": "new_ticket"}
    said = refusal(helpdesk)
    tickets = list(Ticket.objects.values_list("pk", flat=True))

    with nothing_written(only_new=(RECORDS,)) as watch:
        code, out, err = pipe(monkeypatch, corpus("plain.eml"))

    assert (code, out, err) == (0, said, "")
    record = the_record(watch)
    assert (record["status"], record["ticket_id"], record["reason"]) == (
        "rejected",
        None,
        said.removeprefix("rejected: "),
    )
    assert list(Ticket.objects.values_list("pk", flat=True)) == tickets
    assert not OutboundMessage.objects.filter(recipient="alice@acme.test").exists()


def test_pipe_parks_an_unreadable_message_and_exits_0_so_the_mta_sends_no_backscatter(
    helpdesk, monkeypatch, nothing_written
):
    with nothing_written(only_new=(RECORDS,)) as watch:
        code, out, err = pipe(monkeypatch, corpus("no_from.eml"))

    assert (code, out, err) == (0, "parked: The message has no valid sender address (From).", "")
    record = the_record(watch)
    assert (record["status"], bytes(record["raw"])) == ("parked", corpus("no_from.eml"))
    assert not Ticket.objects.exists()


def test_pipe_parks_garbage_and_exits_0(helpdesk, monkeypatch, nothing_written):
    with nothing_written(only_new=(RECORDS,)) as watch:
        code, out, _ = pipe(monkeypatch, corpus("garbage.eml"))

    record = the_record(watch)
    assert record["status"] == "parked"
    assert (code, out) == (0, f"parked: {record['reason']}")
    assert record["reason"] == "The message has no valid sender address (From)."


@pytest.mark.parametrize("raw", [b"", b"\r\n  \n"])
def test_pipe_exits_65_for_an_empty_input_and_records_nothing(
    helpdesk, monkeypatch, raw, nothing_written
):
    with nothing_written():
        code, out, err = pipe(monkeypatch, raw)

    assert (code, out, err) == (65, "", "empty input: no message to import")
    assert not InboundMessage.objects.exists()


def test_pipe_exits_75_when_the_database_is_down(helpdesk, monkeypatch, nothing_written):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(inbound, "_process", down)

    with nothing_written():
        code, _, err = pipe(monkeypatch, corpus("plain.eml"))

    assert code == 75
    assert err == (
        "temporary failure, try again later: could not connect to server: Connection refused"
    )
    assert not Ticket.objects.exists()


def test_a_database_outage_while_importing_leaves_the_message_to_retry(
    helpdesk, monkeypatch, nothing_written
):
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(inbound, "route", flaky)
    with nothing_written(), pytest.raises(TemporaryFailure):
        ingest(corpus("plain.eml"), channel="email")
    assert len(calls) == 1
    assert not InboundMessage.objects.exists() and not Ticket.objects.exists()

    monkeypatch.undo()
    result = ingest(corpus("plain.eml"), channel="email")

    assert result.status == "created"
    record = InboundMessage.objects.get()
    assert (record.status, record.ticket) == ("created", result.ticket)
    assert Ticket.objects.count() == 1


def test_a_crash_half_way_leaves_nothing_and_the_next_delivery_imports_it(
    helpdesk, monkeypatch, nothing_written
):
    from tickets import services

    def dies(**kwargs):
        services_open(**kwargs)  # the ticket rows are written...
        raise SystemExit(1)  # ...and the process dies before the commit

    services_open = services.ticket_open
    monkeypatch.setattr(services, "ticket_open", dies)
    with nothing_written(), pytest.raises(SystemExit):
        ingest(corpus("plain.eml"), channel="email")
    assert not Ticket.objects.exists() and not InboundMessage.objects.exists()
    monkeypatch.undo()

    result = ingest(corpus("plain.eml"), channel="email")

    assert result.status == "created"
    assert InboundMessage.objects.get().status == "created"
    assert Ticket.objects.count() == 1


def test_an_unexpected_error_parks_the_message_and_writes_nothing(
    helpdesk, monkeypatch, nothing_written
):
    from tickets import services

    def broken(**kwargs):
        raise RuntimeError("bug in a filter plugin")

    monkeypatch.setattr(services, "ticket_open", broken)

    with nothing_written(only_new=(RECORDS,)) as watch:
        result = ingest(corpus("plain.eml"), channel="email")

    assert result.status == "parked"
    assert result.reason == "Import failed: RuntimeError('bug in a filter plugin')"
    record = the_record(watch)
    assert (record["status"], record["reason"]) == ("parked", result.reason)
    assert not Ticket.objects.exists() and not ThreadEntry.objects.exists()


def test_a_parked_message_can_be_processed_again(helpdesk, monkeypatch):
    from helpdesk.mail.reprocess import reprocess
    from tickets import services

    real = services.ticket_open
    monkeypatch.setattr(services, "ticket_open", lambda **kw: 1 / 0)
    ingest(corpus("plain.eml"), channel="email")
    monkeypatch.setattr(services, "ticket_open", real)

    result = reprocess(InboundMessage.objects.get())

    assert result.status == "created"
    assert InboundMessage.objects.get().status == "created"


def test_a_bounce_is_a_system_note_on_the_ticket_it_bounced_from(helpdesk):
    ticket = ingest(corpus("plain.eml"), channel="email").ticket
    ours = make_message_id(ticket.pk, None)
    OutboundMessage.objects.create(
        message_id=ours,
        template="ticket.reply",
        dedupe_key="r",
        ticket=ticket,
        recipient="gone@acme.test",
        from_email="support@helpdesk.test",
        subject="Re: Printer on fire",
        body_text="x",
        status="sent",
    )

    result = ingest(corpus("bounce_dsn.eml", ORIGINAL_ID=ours), channel="email")

    assert (result.status, result.ticket, result.reason) == (
        "appended",
        ticket,
        "Delivery report recorded. gone@acme.test marked undeliverable.",
    )
    assert Ticket.objects.count() == 1
    note = ticket.thread.entries.last()
    assert (note.kind, note.is_system, note.title) == ("note", True, "Mail delivery failed")
    assert note.body_text.splitlines() == [
        "gone@acme.test: failed 5.1.1 smtp; 550 5.1.1 User unknown",
        'The mail was "Re: Printer on fire" to gone@acme.test (ticket.reply).',
        "Nothing more is mailed to gone@acme.test until an agent clears it or verified "
        "mail from it arrives.",
        "Report from mailer-daemon@mx.acme.test: Undelivered Mail Returned to Sender",
    ]
    assert OutboundMessage.objects.get().status == "bounced"


def test_a_bounce_about_nothing_of_ours_is_dropped_never_a_ticket(helpdesk, nothing_written):
    # the report's parts are stored before it is read: orphans, purged later
    with nothing_written(only_new=(RECORDS,), orphans=True) as watch:
        result = ingest(
            corpus("bounce_dsn.eml", ORIGINAL_ID="<someone-else@x.test>"), channel="email"
        )
    assert the_record(watch)["status"] == "dropped"

    assert (result.status, result.reason) == (
        "dropped",
        "A delivery report about no message of ours.",
    )
    assert not Ticket.objects.exists()


def test_api_channel_records_its_source(helpdesk):
    result = ingest(message(), channel="api")

    assert result.status == "created"
    assert InboundMessage.objects.get().source == "api"
    assert result.ticket.thread.events.get(kind="created").channel == "api"
