"""Mail out: who hears about what, with which headers; notes never reach clients."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import EmailTemplate, MailSettings, OutboundMessage
from helpdesk.outbox.services import outbox_drain
from threads.models import ThreadEntry
from tickets import services

from ..factories import AgentFactory, TeamFactory, open_ticket
from .conftest import corpus, message

# written before sender authentication: every sender is taken at its word
pytestmark = pytest.mark.usefixtures("trust_mail")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a step with its after-commit work (signals, tasks, sending) executed."""

    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


def sent(template=None):
    rows = OutboundMessage.objects.order_by("id")
    if template:
        rows = rows.filter(template=template)
    return [(r.template, r.recipient) for r in rows]


def by_recipient(address):
    return [m for m in mail.outbox if m.to == [address]]


def test_a_new_ticket_by_email_gets_an_autoresponse_that_threads(helpdesk, run):
    ticket = run(ingest, corpus("plain.eml"), channel="email").ticket

    [auto] = by_recipient("alice@acme.test")
    assert auto.subject == f"Support ticket opened [#{ticket.number}] Printer on fire"
    assert auto.from_email == "Support <support@helpdesk.test>"
    assert auto.extra_headers["In-Reply-To"] == "<plain-1@acme.test>"
    assert auto.extra_headers["References"] == "<plain-1@acme.test>"
    assert auto.extra_headers["Auto-Submitted"] == "auto-replied"
    row = OutboundMessage.objects.get(template="ticket.autoresp")
    assert auto.extra_headers["Message-ID"] == row.message_id
    assert row.message_id.startswith(f"<hd.{ticket.pk}.")
    assert auto.body.startswith(f"-- reply above this line --\n\nDear {helpdesk.alice.name},")
    assert row.status == "sent"
    html = auto.alternatives[0][0]
    assert html.startswith('<div style="color:#999">-- reply above this line --</div>')


def test_a_new_ticket_alerts_the_department_but_not_clients(helpdesk, run):
    run(ingest, corpus("plain.eml"), channel="email")

    assert sorted(sent("ticket.alert")) == [
        ("ticket.alert", "alex@helpdesk.test"),
        ("ticket.alert", "manager@helpdesk.test"),
        ("ticket.alert", "root@helpdesk.test"),
    ]
    alert = by_recipient("alex@helpdesk.test")[0]
    assert alert.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "the printer on the second floor is on fire" in alert.body
    assert "/scp/tickets/" in alert.body


def test_an_agent_who_turned_an_alert_off_in_the_panel_does_not_get_it(helpdesk, run):
    from helpdesk.panel.models import AgentPreferences

    AgentPreferences.objects.create(agent=helpdesk.agent_a, notify_new_ticket=False)
    AgentPreferences.objects.create(agent=helpdesk.manager_a, notify_new_message=False)
    run(ingest, corpus("plain.eml"), channel="email")

    assert sorted(sent("ticket.alert")) == [
        ("ticket.alert", "manager@helpdesk.test"),
        ("ticket.alert", "root@helpdesk.test"),
    ]


@pytest.mark.parametrize("name", ["autoreply.eml", "list_mail.eml"])
def test_robots_get_no_autoresponse(helpdesk, run, name):
    result = run(ingest, corpus(name), channel="email")

    assert result.status == "created"
    assert sent("ticket.autoresp") == []
    assert len(sent("ticket.alert")) == 3  # agents still hear about it


def test_an_out_of_office_reply_to_a_ticket_gets_no_autoresponse(helpdesk, run):
    MailSettings.objects.filter(pk=MailSettings.load().pk).update(message_autoresponder=True)
    ticket = run(ingest, corpus("plain.eml"), channel="email").ticket
    raw = corpus("autoreply.eml").replace(
        b"X-Autoreply: yes", b"X-Autoreply: yes\nIn-Reply-To: <plain-1@acme.test>"
    )

    result = run(ingest, raw, channel="email")

    assert (result.status, result.ticket) == ("appended", ticket)
    assert sent("message.autoresp") == []


def test_autoresponses_to_one_address_are_rate_limited(helpdesk, run):
    config = MailSettings.load()
    config.autoresponses_per_hour = 2
    config.save()

    for n in range(4):
        run(
            ingest, message(subject=f"Problem {n}", message_id=f"<p{n}@acme.test>"), channel="email"
        )

    assert sent("ticket.autoresp") == [("ticket.autoresp", "alice@acme.test")] * 2


def test_a_new_message_alerts_the_assignee_and_tells_the_collaborators(helpdesk, run):
    ticket = run(ingest, corpus("cc.eml"), channel="email").ticket
    run(services.ticket_assign, actor=helpdesk.agent_a, ticket=ticket, agent=helpdesk.agent_a)
    OutboundMessage.objects.all().delete()
    mail.outbox.clear()

    run(
        ingest,
        message(
            message_id="<m2@acme.test>",
            body="More smoke.",
            headers={"In-Reply-To": "<cc-1@acme.test>"},
        ),
        channel="email",
    )

    assert sorted(sent()) == [
        ("message.alert", "alex@helpdesk.test"),
        ("ticket.activity.notice", "carl@acme.test"),
        ("ticket.activity.notice", "dana@partner.test"),
    ]
    notice = by_recipient("carl@acme.test")[0]
    assert "More smoke." in notice.body
    assert notice.extra_headers["In-Reply-To"] == "<m2@acme.test>"


def test_a_response_goes_to_the_requester_and_collaborators_and_threads(helpdesk, run):
    ticket = run(ingest, corpus("cc.eml"), channel="email").ticket
    OutboundMessage.objects.all().delete()
    mail.outbox.clear()

    posted = run(
        services.ticket_post_reply, actor=helpdesk.agent_a, ticket=ticket, body="We are on it."
    )

    assert sorted(sent()) == [
        ("ticket.reply", "alice@acme.test"),
        ("ticket.reply", "carl@acme.test"),
        ("ticket.reply", "dana@partner.test"),
    ]
    reply = by_recipient("alice@acme.test")[0]
    assert reply.subject == f"Re: Shared problem [#{ticket.number}]"
    assert reply.body.startswith("-- reply above this line --\n\nWe are on it.")
    assert reply.extra_headers["In-Reply-To"] == "<cc-1@acme.test>"
    assert "Auto-Submitted" not in reply.extra_headers
    assert OutboundMessage.objects.get(recipient="alice@acme.test").entry == posted.entry


def test_a_response_with_chosen_addressees_goes_to_those_only(helpdesk, run):
    ticket = run(ingest, corpus("cc.eml"), channel="email").ticket
    OutboundMessage.objects.all().delete()

    run(
        services.ticket_post_reply,
        actor=helpdesk.agent_a,
        ticket=ticket,
        body="Only for Alice and Dana.",
        cc=[User.objects.get(email__iexact="dana@partner.test").pk],
    )

    assert sorted(sent()) == [
        ("ticket.reply", "alice@acme.test"),
        ("ticket.reply", "dana@partner.test"),
    ]


def test_the_client_answer_to_our_response_threads_back(helpdesk, run):
    ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_a)  # by the portal
    run(services.ticket_post_reply, actor=helpdesk.agent_a, ticket=ticket, body="Try again?")
    ours = OutboundMessage.objects.get(template="ticket.reply").message_id

    result = run(
        ingest,
        message(subject="Re: whatever", message_id="<c1@acme.test>", headers={"In-Reply-To": ours}),
        channel="email",
    )

    assert (result.status, result.ticket) == ("appended", ticket)


def test_an_internal_note_alerts_agents_only(helpdesk, run):
    ticket = run(ingest, corpus("cc.eml"), channel="email").ticket
    run(services.ticket_assign, actor=helpdesk.agent_a, ticket=ticket, agent=helpdesk.agent_a)
    OutboundMessage.objects.all().delete()
    mail.outbox.clear()

    run(
        services.ticket_post_note,
        actor=helpdesk.manager_a,
        ticket=ticket,
        body="SECRET: the client owes us money.",
    )

    assert sent() == [("note.alert", "alex@helpdesk.test")]
    clients = ["alice@acme.test", "carl@acme.test", "dana@partner.test"]
    assert [m for m in mail.outbox if m.to[0] in clients] == []
    assert all("SECRET" not in m.body for m in mail.outbox if m.to[0] != "alex@helpdesk.test")


def test_an_internal_note_is_refused_for_a_client_even_if_asked(helpdesk, nothing_written):
    from helpdesk.mail import outbound

    ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_a)
    note = services.ticket_post_note(actor=helpdesk.agent_a, ticket=ticket, body="secret").entry

    with nothing_written():
        for template in ("ticket.reply", "note.alert"):
            row = outbound.queue(
                template=template,
                recipient=helpdesk.alice,
                ticket=ticket,
                event_key="x",
                entry=note,
            )
            assert row is None
    assert not OutboundMessage.objects.exists()


def test_system_notes_alert_no_one(helpdesk, run):
    from accounts.actors import SYSTEM

    ticket = run(ingest, corpus("plain.eml"), channel="email").ticket
    OutboundMessage.objects.all().delete()

    run(services.ticket_post_note, actor=SYSTEM, ticket=ticket, body="x", is_system_note=True)

    assert sent() == []


def test_assignment_alerts_the_new_assignee_and_the_team(helpdesk, run):
    ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_a)
    lead = AgentFactory(username="lead", department=helpdesk.dept_a)
    team = TeamFactory(name="Printers", lead=lead)

    run(services.ticket_assign, actor=helpdesk.manager_a, ticket=ticket, agent=helpdesk.agent_a)
    run(services.ticket_assign, actor=helpdesk.manager_a, ticket=ticket, team=team)

    assert sent("assigned.alert") == [
        ("assigned.alert", "alex@helpdesk.test"),
        ("assigned.alert", "lead@helpdesk.test"),
    ]
    assert "was assigned to" in by_recipient("alex@helpdesk.test")[-1].body


def test_claiming_a_ticket_alerts_no_one(helpdesk, run):
    ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_a)

    run(services.ticket_claim, actor=helpdesk.agent_a, ticket=ticket)

    assert sent("assigned.alert") == []


def test_a_transfer_alerts_the_new_department_manager(helpdesk, run):
    ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_b)
    OutboundMessage.objects.all().delete()

    run(services.ticket_transfer, actor=helpdesk.admin, ticket=ticket, department=helpdesk.dept_a)

    assert sent("transfer.alert") == [("transfer.alert", "manager@helpdesk.test")]
    assert "from Billing to Support" in by_recipient("manager@helpdesk.test")[-1].body


def test_an_overdue_ticket_alerts_the_assignee_and_manager(helpdesk, run):
    import datetime as dt

    from django.utils import timezone

    from tickets.models import Ticket

    ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_a)
    run(services.ticket_assign, actor=helpdesk.manager_a, ticket=ticket, agent=helpdesk.agent_a)
    Ticket.objects.filter(pk=ticket.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    OutboundMessage.objects.all().delete()

    run(services.tickets_mark_overdue)

    assert sorted(sent("ticket.overdue")) == [
        ("ticket.overdue", "alex@helpdesk.test"),
        ("ticket.overdue", "manager@helpdesk.test"),
    ]


def test_the_sweep_writes_one_alert_row_per_batch_and_the_alerts_go_out_once(
    helpdesk, run, monkeypatch
):
    """The sweep's transaction holds its batch's row locks: it writes one outbox row for
    the batch, not one per ticket; run, that row queues one alert row per ticket, and a
    second run of it (a worker that died before deleting it) sends nothing twice."""
    from helpdesk.mail.tasks import notify_task, overdue_alerts_task
    from helpdesk.outbox.models import OutboxTask
    from tickets.models import Ticket

    tickets = [open_ticket(helpdesk.alice, department=helpdesk.dept_a) for _ in range(3)]
    for ticket in tickets:
        run(services.ticket_assign, actor=helpdesk.manager_a, ticket=ticket, agent=helpdesk.agent_a)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        due_at=timezone.now() - dt.timedelta(hours=1)
    )
    OutboundMessage.objects.all().delete()

    with monkeypatch.context() as no_broker:  # the rows are written, and left for a worker
        no_broker.setattr("helpdesk.outbox.services.dispatch_mode", lambda: "none")
        run(services.tickets_mark_overdue, batch_size=2)

    rows = list(OutboxTask.objects.filter(task=overdue_alerts_task.name).order_by("id"))
    assert [len(r.args[1]) for r in rows] == [2, 1]
    assert sorted(pk for r in rows for pk in r.args[1]) == sorted(t.pk for t in tickets)

    def alert_rows():
        return [
            r for r in OutboxTask.objects.filter(task=notify_task.name) if r.args[0] == "overdue"
        ]

    assert alert_rows() == []

    kind, ids, nonce = rows[0].args
    for _ in range(2):  # the batch row run twice: its alerts are queued twice, sent once
        run(overdue_alerts_task, kind, ids, nonce)
    assert alert_rows() == []  # all ran
    assert sorted(sent("ticket.overdue")) == sorted(
        [("ticket.overdue", "alex@helpdesk.test"), ("ticket.overdue", "manager@helpdesk.test")] * 2
    )


def test_an_agent_opening_a_ticket_for_a_client_sends_the_notice(helpdesk, run):
    run(
        services.ticket_open,
        actor=helpdesk.agent_a,
        new=services.NewTicket(
            requester=helpdesk.bob,
            subject="Phone call",
            body="Bob called about the invoice.",
            department=helpdesk.dept_a,
        ),
    )

    assert sent("ticket.notice") == [("ticket.notice", "bob@globex.test")]
    assert sent("ticket.autoresp") == []
    assert "Bob called about the invoice." in by_recipient("bob@globex.test")[0].body


def test_an_edited_template_is_used(helpdesk, run):
    EmailTemplate.objects.filter(code="ticket.autoresp").update(
        subject="We got it: {{ ticket.subject }}",
        body_text="Hi {{ recipient.name }}, number {{ ticket.number }}.",
        body_html="",
    )

    ticket = run(ingest, corpus("plain.eml"), channel="email").ticket

    [auto] = by_recipient("alice@acme.test")
    assert auto.subject == "We got it: Printer on fire"
    assert auto.body == (
        f"-- reply above this line --\n\nHi {helpdesk.alice.name}, number {ticket.number}.\n"
    )
    assert auto.alternatives == []


def test_a_send_failure_is_retried_then_recorded_on_the_ticket(helpdesk, run, settings):
    ticket = run(open_ticket, helpdesk.alice, department=helpdesk.dept_a)  # its mail is sent
    settings.EMAIL_BACKEND = "tests.mail.failing_backend.EmailBackend"
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "SEND_MAX_RETRIES": 3}

    run(services.ticket_post_reply, actor=helpdesk.agent_a, ticket=ticket, body="Hello?")
    row = OutboundMessage.objects.get(template="ticket.reply")
    assert (row.status, row.attempts) == ("queued", 1)  # the next try waits (backoff)

    outbox_drain(now=timezone.now() + dt.timedelta(hours=2))  # the outbox job, later on

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error == "SMTPServerDisconnected: the relay hung up"
    note = ticket.thread.entries.filter(kind=ThreadEntry.Kind.NOTE).get()
    assert note.is_system and note.title == "Mail not sent"
    assert note.body_text == (
        f'The mail "Re: Printer on fire [#{ticket.number}]" (ticket.reply) to alice@acme.test '
        "could not be sent after 3 attempts: SMTPServerDisconnected: the relay hung up"
    )


def test_an_agent_reply_by_email_reaches_the_client_answering_the_client_message(helpdesk, run):
    ticket = run(ingest, corpus("plain.eml"), channel="email").ticket
    mail.outbox.clear()

    run(
        ingest,
        message(
            sender="alex@helpdesk.test",
            body="Fixed it.",
            message_id="<agent-1@helpdesk.test>",
            headers={"In-Reply-To": "<plain-1@acme.test>"},
        ),
        channel="email",
    )

    [reply] = by_recipient("alice@acme.test")
    assert reply.subject == f"Re: Printer on fire [#{ticket.number}]"
    assert reply.body.startswith("-- reply above this line --\n\nFixed it.")
    assert reply.extra_headers["In-Reply-To"] == "<plain-1@acme.test>"
    autoresp = OutboundMessage.objects.get(template="ticket.autoresp").message_id
    assert reply.extra_headers["References"] == f"<plain-1@acme.test> {autoresp}"
