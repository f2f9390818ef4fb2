"""Mail piped through POST /api/tickets.email as osTicket's automail.php and automail.pl
send it (tests/osticket_clients.py), with a key made as the README makes one: no
department, so the whole helpdesk. What the MTA sees is the scripts' exit code: 0 for
201, 75 (try again, forever) for anything they do not know, such as 202."""

import pytest
from django.core.management import call_command

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create
from accounts.models import ApiKey
from helpdesk.mail.models import InboundMessage
from routing.models import BannedEmail
from tickets import services
from tickets.models import Ticket, TicketLink

from ..osticket_clients import automail_php, automail_pl, exit_code
from .conftest import authenticated, message

pytestmark = pytest.mark.usefixtures("authserv")


def readme_key(*options: str) -> str:
    """`manage.py create_api_key --ip 127.0.0.1 --can-create-tickets`, as the README."""
    from io import StringIO

    out = StringIO()
    call_command(
        "create_api_key", "--ip", "127.0.0.1", "--can-create-tickets", *options, stdout=out
    )
    return out.getvalue().strip()


def answer(response) -> tuple[int, str, int]:
    return response.status_code, response.content.decode(), exit_code(response.status_code)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


FIRST = message(message_id="<pipe-1@acme.test>")


def test_the_readme_key_is_for_the_whole_helpdesk(helpdesk):
    readme_key()
    assert ApiKey.objects.get().all_departments is True


def test_a_redelivered_message_answers_201_and_the_number_like_the_first(helpdesk, run):
    key = readme_key()

    first = run(automail_php, FIRST, key)
    ticket = Ticket.objects.get()
    again = run(automail_php, FIRST, key)  # the same bytes
    # another hop on the way: the same Message-ID and content, other trace headers
    relayed = run(
        automail_php, b"Received: from mx2.acme.test by mx.helpdesk.test\r\n" + FIRST, key
    )

    assert first.reason_phrase == "Created"  # automail.php reads "HTTP/1.1 201 Created"
    for response in (first, again, relayed):
        assert answer(response) == (201, ticket.number, 0)
    assert Ticket.objects.count() == 1 and ticket.thread.entries.count() == 1
    assert list(InboundMessage.objects.order_by("id").values_list("status", flat=True)) == [
        "created",
        "duplicate",
    ]


def test_a_reply_threads_into_its_ticket_in_any_department(helpdesk, run):
    """A relay key (our MTA, which stamps Authentication-Results) of the whole helpdesk:
    the reply joins the ticket wherever it is, as osTicket's keys have no scope."""
    key = readme_key("--mail-relay")
    run(automail_php, authenticated(FIRST), key)
    ticket = services.ticket_transfer(
        actor=SYSTEM, ticket=Ticket.objects.get(), department=helpdesk.dept_b
    )
    reply = authenticated(
        message(
            subject="Re: Printer on fire",
            body="Still burning.",
            message_id="<pipe-2@acme.test>",
            headers={"In-Reply-To": "<pipe-1@acme.test>"},
        )
    )

    response = run(automail_pl, reply, key)

    assert answer(response) == (201, ticket.number, 0)
    assert Ticket.objects.count() == 1
    assert [e.body_text for e in ticket.thread.entries.order_by("id")] == [
        "It is on fire.",
        "Still burning.",
    ]


def test_with_senders_trusted_by_policy_a_plain_key_threads_replies(helpdesk, run, trust_mail):
    key = readme_key()
    run(automail_php, FIRST, key)
    ticket = Ticket.objects.get()
    reply = message(
        subject="Re: Printer on fire",
        body="Still burning.",
        message_id="<pipe-2@acme.test>",
        headers={"In-Reply-To": "<pipe-1@acme.test>"},
    )

    response = run(automail_php, reply, key)

    assert answer(response) == (201, ticket.number, 0)
    assert ticket.thread.entries.count() == 2


def test_an_unverified_reply_through_a_plain_key_still_opens_a_linked_ticket(helpdesk, run):
    """The hardening stays: a key that is not our MTA cannot vouch for a sender."""
    key = readme_key()
    run(automail_php, authenticated(FIRST), key)
    ticket = Ticket.objects.get()
    reply = authenticated(
        message(message_id="<pipe-2@acme.test>", headers={"In-Reply-To": "<pipe-1@acme.test>"})
    )

    response = run(automail_php, reply, key)

    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert answer(response) == (201, new.number, 0)
    assert TicketLink.objects.filter(low_id=ticket.pk, high_id=new.pk).exists()


def test_a_scoped_key_keeps_its_scope_and_its_redelivery_is_still_delivered(helpdesk, run):
    """Mail opens tickets as the system, so a key of Billing may open one in Support
    (the default department): the first answer tells its number, a redelivery answers
    201 without it (the key may not read Support), never a code that makes the MTA
    retry forever."""
    key = api_key_create(
        actor=SYSTEM,
        name="billing",
        allowed_ips=["127.0.0.1"],
        can_create_tickets=True,
        write_departments=[helpdesk.dept_b],
    )[1]

    first = run(automail_php, FIRST, key)
    again = run(automail_php, FIRST, key)

    ticket = Ticket.objects.get()
    assert ticket.department == helpdesk.dept_a
    assert answer(first) == (201, ticket.number, 0)
    assert answer(again) == (201, "", 0)


def test_a_message_that_begins_with_blank_lines_is_parsed(helpdesk, run):
    key = readme_key()

    response = run(automail_pl, b"\r\n\r\n" + FIRST, key)
    plain = run(automail_php, FIRST, key)  # the same message without them

    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.requester.email) == ("Printer on fire", "alice@acme.test")
    assert answer(response) == answer(plain) == (201, ticket.number, 0)


def test_a_mail_loop_is_dropped_and_delivered(helpdesk, run):
    key = readme_key()
    loop = message(sender="support@helpdesk.test", message_id="<loop-1@helpdesk.test>")

    response = run(automail_php, loop, key)

    assert answer(response) == (201, "", 0)
    assert not Ticket.objects.exists()
    assert InboundMessage.objects.get().status == "dropped"


def test_a_banned_sender_is_denied_again_when_redelivered(helpdesk, run):
    BannedEmail.objects.create(address="alice@acme.test")
    key = readme_key()

    first = run(automail_php, FIRST, key)
    again = run(automail_php, FIRST, key)

    assert answer(first) == (403, "Ticket denied: Denied: alice@acme.test is banned.", 77)
    assert answer(again) == (403, "Ticket denied: already received and denied", 77)
    assert not Ticket.objects.exists()


def test_the_key_is_accepted_in_either_case(helpdesk, run):
    key = readme_key()

    response = run(automail_php, FIRST, key.lower())

    assert answer(response) == (201, Ticket.objects.get().number, 0)
