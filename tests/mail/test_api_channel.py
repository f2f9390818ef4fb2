"""Raw mail posted to `POST /api/tickets.email`: the caller writes the whole message,
trace headers included, so its `Authentication-Results` are read only for a key marked
as a trusted mail relay; a key's departments bound what its mail may touch, delivery
reports and reprocessing of parked messages included."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create, secret_hash
from accounts.models import ApiKey
from helpdesk.mail.ids import make_message_id
from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import InboundMessage, OutboundMessage, UndeliverableAddress
from helpdesk.mail.parsing import quick_message_id
from helpdesk.mail.reprocess import reprocess
from threads.models import Collaborator, ThreadEntry, ThreadEvent
from tickets.models import Ticket, TicketLink

from ..nowrite import nothing_written
from .conftest import RECORDS, authenticated, corpus, message, the_record

pytestmark = pytest.mark.usefixtures("authserv")
REPLY = {"In-Reply-To": "<plain-1@acme.test>"}
NOT_READ = "Authentication-Results not read: the API key is not a mail relay"


def key(*departments, relay=False) -> str:
    return api_key_create(
        actor=SYSTEM,
        name="mail",
        allowed_ips=["127.0.0.1"],
        can_create_tickets=True,
        read_departments=departments,
        write_departments=departments,
        is_mail_relay=relay,
    )[1]


def post(raw: bytes, secret: str):
    return Client().post(
        "/api/tickets.email", data=raw, content_type="message/rfc822", HTTP_X_API_KEY=secret
    )


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


@pytest.fixture
def first(helpdesk, run):
    """alice's ticket in dept_a, opened by an authenticated piped message; mail sent."""
    ticket = run(ingest, authenticated(corpus("plain.eml")), channel="email").ticket
    mail.outbox.clear()
    return ticket


def state(ticket) -> tuple:
    """What a message could change on a ticket: entries, collaborators, events other
    than a link, the mail about it."""
    return (
        list(ticket.thread.entries.values_list("pk", flat=True)),
        list(Collaborator.objects.filter(thread=ticket.thread).values_list("pk", flat=True)),
        list(
            ThreadEvent.objects.filter(thread=ticket.thread)
            .exclude(kind="linked")
            .values_list("pk", flat=True)
        ),
        list(OutboundMessage.objects.filter(ticket=ticket).values_list("pk", flat=True)),
    )


def test_a_default_key_cannot_post_as_an_agent_with_a_forged_trusted_header(first, run):
    secret = key(first.department)
    before = state(first)
    raw = authenticated(
        message(
            sender="alex@helpdesk.test",
            name="Alex",
            body="Refund granted.",
            message_id="<forged-1@x.test>",
            headers=REPLY,
        ),
        domain="helpdesk.test",
    )

    response = run(post, raw, secret)

    new = Ticket.objects.exclude(pk=first.pk).get()
    assert (response.status_code, response.content.decode()) == (201, new.number)
    assert list(TicketLink.objects.values_list("low_id", "high_id")) == [(first.pk, new.pk)]
    assert state(first) == before
    assert not ThreadEntry.objects.filter(kind=ThreadEntry.Kind.RESPONSE).exists()
    record = InboundMessage.objects.get(message_id="<forged-1@x.test>")
    assert (record.sender_verified, record.sender_check) == (
        False,
        f"unverified sender: {NOT_READ}",
    )
    assert [m for m in mail.outbox if "alice@acme.test" in m.to] == []


def test_a_default_key_cannot_add_collaborators_with_a_forged_trusted_header(first, run):
    secret = key(first.department)
    before = state(first)
    raw = authenticated(
        message(
            body="Add my friend.",
            message_id="<forged-2@acme.test>",
            headers={**REPLY, "Cc": "evil@attacker.test"},
        )
    )

    response = run(post, raw, secret)

    new = Ticket.objects.exclude(pk=first.pk).get()
    assert (response.status_code, response.content.decode()) == (201, new.number)
    assert new.requester.email == "alice@acme.test"
    assert list(TicketLink.objects.values_list("low_id", "high_id")) == [(first.pk, new.pk)]
    assert state(first) == before
    assert not Collaborator.objects.exists()
    assert [m for m in mail.outbox if "evil@attacker.test" in m.to] == []
    assert not OutboundMessage.objects.filter(recipient="evil@attacker.test").exists()


def test_a_key_marked_as_a_mail_relay_is_believed(first, run):
    secret = key(first.department, relay=True)
    raw = authenticated(
        message(sender="alex@helpdesk.test", message_id="<relayed-1@x.test>", headers=REPLY),
        domain="helpdesk.test",
    )

    response = run(post, raw, secret)

    assert (response.status_code, response.content.decode()) == (201, first.number)
    assert first.thread.entries.last().kind == ThreadEntry.Kind.RESPONSE
    record = InboundMessage.objects.get(message_id="<relayed-1@x.test>")
    assert (record.sender_verified, record.sender_check) == (True, "verified: dmarc=pass")


def test_create_api_key_marks_a_mail_relay_only_when_asked(cast, capsys):
    call_command("create_api_key", "--ip", "127.0.0.1", "--can-create-tickets")
    plain = capsys.readouterr().out.strip()
    call_command("create_api_key", "--ip", "10.0.0.5", "--can-create-tickets", "--mail-relay")
    relay = capsys.readouterr().out.strip()

    assert ApiKey.objects.get(key_hash=secret_hash(plain)).is_mail_relay is False
    assert ApiKey.objects.get(key_hash=secret_hash(relay)).is_mail_relay is True


def test_the_admin_sets_and_shows_the_mail_relay_flag(client, cast):
    api_key_create(actor=SYSTEM, name="mta", allowed_ips=["10.0.0.5"], can_create_tickets=True)
    row = ApiKey.objects.get()
    client.force_login(cast.admin)
    url = reverse("admin:accounts_apikey_change", args=[row.pk])

    page = client.get(url)
    response = client.post(
        url,
        {
            "name": "mta",
            "is_active": "on",
            "allowed_ips": '["10.0.0.5/32"]',
            "can_create_tickets": "on",
            "is_mail_relay": "on",
            "notes": "",
        },
    )

    assert page.status_code == 200 and 'name="is_mail_relay"' in page.content.decode()
    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    assert row.is_mail_relay is True
    listing = client.get(reverse("admin:accounts_apikey_changelist")).content.decode()
    assert "is_mail_relay" in listing


# --- department scope: delivery reports and reprocessing --------------------------------


def _sent_to_alice(ticket) -> OutboundMessage:
    return OutboundMessage.objects.create(
        message_id=make_message_id(ticket.pk, None),
        template="ticket.reply",
        dedupe_key="r",
        ticket=ticket,
        recipient="alice@acme.test",
        from_email="support@helpdesk.test",
        subject="Re: Printer on fire",
        body_text="x",
        status="sent",
    )


def _report(sent: OutboundMessage) -> bytes:
    raw = corpus("bounce_dsn.eml", ORIGINAL_ID=sent.message_id)
    return raw.replace(b"gone@acme.test", b"alice@acme.test")


def test_a_key_of_another_department_cannot_file_a_delivery_report_on_a_ticket(first, helpdesk):
    sent = _sent_to_alice(first)
    before = state(first)
    secret = key(helpdesk.dept_b)

    # the report's parts are stored before it is read: orphans, purged later
    with nothing_written(only_new=(RECORDS,), orphans=True) as watch:
        response = post(_report(sent), secret)

    # delivered and dropped (the pipe scripts exit 0; a 202 would have the MTA retry
    # forever), and the number of the other department's ticket is not told
    assert (response.status_code, response.content.decode()) == (201, "")
    assert state(first) == before
    sent.refresh_from_db()
    assert sent.status == "sent"
    assert not UndeliverableAddress.objects.exists()
    record = the_record(watch)
    assert (record["message_id"], record["status"]) == ("<dsn-1@mx.acme.test>", "dropped")


def test_a_key_of_the_tickets_department_files_its_delivery_report(first, helpdesk):
    sent = _sent_to_alice(first)

    response = post(_report(sent), key(helpdesk.dept_a))

    assert (response.status_code, response.content.decode()) == (201, first.number)
    assert first.thread.entries.last().title == "Mail delivery failed"
    sent.refresh_from_db()
    assert sent.status == "bounced"
    assert list(UndeliverableAddress.objects.values_list("address", flat=True)) == [
        "alice@acme.test"
    ]


def _park_through_the_api(monkeypatch, raw: bytes, secret: str) -> InboundMessage:
    """Post a message while routing has a bug: it is parked with the raw bytes."""
    from helpdesk.mail import route

    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    with monkeypatch.context() as patched, nothing_written(only_new=(RECORDS,)) as watch:
        patched.setattr(route, "_continue", bug)
        response = post(raw, secret)
    assert (response.status_code, response.content.decode()) == (
        400,
        "Unable to create new ticket: Import failed: RuntimeError('a bug')",
    )
    [parked] = watch.added[RECORDS]
    record = InboundMessage.objects.get(message_id=quick_message_id(raw))
    assert (record.pk, record.status) == (parked["id"], "parked")
    return record


def test_reprocessing_a_parked_api_message_keeps_the_keys_departments(first, helpdesk, monkeypatch):
    secret = key(helpdesk.dept_b, relay=True)
    raw = authenticated(message(message_id="<parked-1@acme.test>", headers=REPLY))
    record = _park_through_the_api(monkeypatch, raw, secret)
    before = state(first)

    result = reprocess(record)

    assert result.status == "created" and result.ticket != first
    assert state(first) == before
    record.refresh_from_db()
    assert (record.status, record.ticket_id, record.sender_verified) == (
        "created",
        result.ticket.pk,
        True,
    )
    assert record.api_key == ApiKey.objects.get(key_hash=secret_hash(secret))


def test_a_parked_api_message_of_a_deleted_key_joins_no_ticket(first, helpdesk, monkeypatch):
    secret = key(helpdesk.dept_a, relay=True)
    raw = authenticated(message(message_id="<parked-2@acme.test>", headers=REPLY))
    record = _park_through_the_api(monkeypatch, raw, secret)
    ApiKey.objects.all().delete()
    before = state(first)

    result = reprocess(record)

    assert result.status == "created" and result.ticket != first
    assert state(first) == before
    record.refresh_from_db()
    assert record.sender_check == f"unverified sender: {NOT_READ}"
