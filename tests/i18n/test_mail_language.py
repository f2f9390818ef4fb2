"""Mail in the recipient's language: a client's profile language, else the ticket's, else
the site's; an agent's panel language. End to end: a French client opens a ticket by mail
and the autoresponse that goes out is the French one."""

import pytest
from django.core import mail

from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import EmailTemplate, EmailTemplateSet, OutboundMessage
from helpdesk.mail.outbound import recipient_language
from helpdesk.panel.models import AgentPreferences
from helpdesk.portal.models import ClientPreferences
from tickets.models import TicketStatus

from ..factories import open_ticket

pytestmark = pytest.mark.usefixtures("trust_mail")


def message(*, sender="alice@acme.test", name="Alice Example", headers=None) -> bytes:
    lines = [
        f"From: {name} <{sender}>",
        "To: support@helpdesk.test",
        "Subject: Imprimante en feu",
        "Message-ID: <fr-1@acme.test>",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Elle brûle.",
        "",
    ]
    return "\r\n".join(lines).encode()


def french_row(code="ticket.autoresp", subject="Demande reçue [#{{ ticket.number }}]"):
    return EmailTemplate.objects.create(
        template_set=EmailTemplateSet.objects.get(is_default=True),
        code=code,
        language="fr",
        subject=subject,
        body_html="<p>Bonjour {{ recipient.name }}, statut : {{ ticket.status }}.</p>",
    )


def to(address):
    return [m for m in mail.outbox if m.to == [address]]


# --- end to end ---------------------------------------------------------------------------


def test_a_french_client_opening_a_ticket_by_mail_gets_the_french_autoresponse(helpdesk, run):
    ClientPreferences.objects.create(user=helpdesk.alice, language="fr")
    french_row()

    ticket = run(ingest, message(), channel="email").ticket

    assert ticket.language == "fr"
    [auto] = to("alice@acme.test")
    assert auto.subject == f"Demande reçue [#{ticket.number}]"
    assert auto.body.endswith(f"Bonjour {helpdesk.alice.name}, statut : Open.\n")
    assert OutboundMessage.objects.get(template="ticket.autoresp").subject == auto.subject


def test_without_a_french_row_the_default_in_code_is_rendered_in_french(helpdesk, run, french):
    ClientPreferences.objects.create(user=helpdesk.alice, language="fr")
    # no row at all: the default set's English row (any language) seeded by the
    # migration would come before the default in code
    EmailTemplate.objects.filter(code="ticket.autoresp").delete()

    ticket = run(ingest, message(), channel="email").ticket

    [auto] = to("alice@acme.test")
    assert auto.subject == f"Demande ouverte [#{ticket.number}] Imprimante en feu"
    assert f"Bonjour {helpdesk.alice.name},\n\nNous avons bien reçu votre demande" in auto.body


def test_the_mails_content_language_chooses_for_a_client_without_a_profile_language(helpdesk, run):
    french_row()

    ticket = run(ingest, message(headers={"Content-Language": "fr-FR"}), channel="email").ticket

    assert ticket.language == "fr"
    [auto] = to("alice@acme.test")
    assert auto.subject == f"Demande reçue [#{ticket.number}]"


def test_a_client_with_no_language_gets_the_sites(helpdesk, run):
    french_row()

    ticket = run(ingest, message(), channel="email").ticket

    assert ticket.language == ""
    [auto] = to("alice@acme.test")
    assert auto.subject == f"Support ticket opened [#{ticket.number}] Imprimante en feu"


# --- who reads which language --------------------------------------------------------------


def test_the_profile_language_wins_over_the_tickets(helpdesk):
    ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_a, language="de")
    assert recipient_language(helpdesk.alice, is_agent=False, ticket=ticket) == "de"

    ClientPreferences.objects.create(user=helpdesk.alice, language="ja")
    helpdesk.alice.refresh_from_db()  # the cached reverse relation: read it again
    assert recipient_language(helpdesk.alice, is_agent=False, ticket=ticket) == "ja"


def test_a_language_no_longer_offered_falls_back_to_the_sites(helpdesk, settings):
    settings.LANGUAGE_CODE = "es"
    ClientPreferences.objects.create(user=helpdesk.alice, language="tlh")

    assert recipient_language(helpdesk.alice, is_agent=False) == "es"


def test_an_agent_gets_alerts_in_their_panel_language_with_translated_status_names(helpdesk, run):
    AgentPreferences.objects.create(agent=helpdesk.agent_a, language="fr")
    TicketStatus.objects.filter(name="Open").update(translations={"fr": {"name": "Ouvert"}})
    french_row("ticket.alert", subject="Nouveau ticket [#{{ ticket.number }}]")

    ticket = run(open_ticket, helpdesk.alice, department=helpdesk.dept_a)

    [alert] = to(helpdesk.agent_a.email)
    assert alert.subject == f"Nouveau ticket [#{ticket.number}]"
    assert "statut : Ouvert." in alert.body
    [other] = to(helpdesk.manager_a.email)  # no language chosen: the site's
    assert other.subject.startswith("New ticket alert")


def test_after_the_seed_the_french_row_made_from_the_catalogue_is_mailed(helpdesk, run, french):
    from accounts.actors import SYSTEM
    from helpdesk.mail.services import email_templates_seed_languages

    email_templates_seed_languages(actor=SYSTEM)  # as `make migrate` runs it
    ClientPreferences.objects.create(user=helpdesk.alice, language="fr")

    ticket = run(ingest, message(), channel="email").ticket

    [auto] = to("alice@acme.test")
    assert auto.subject == f"Demande ouverte [#{ticket.number}] Imprimante en feu"


def test_with_the_shipped_catalogue_a_french_client_gets_the_french_autoresponse(helpdesk, run):
    """The catalogue we ship (locale/fr), not a test's own: after the seed, the French
    autoresponse is the catalogue's translation, marked as French."""
    import polib
    from django.template import Context, Template

    from accounts.actors import SYSTEM
    from helpdesk import i18n
    from helpdesk.mail.services import email_templates_seed_languages
    from helpdesk.mail.templates import MESSAGES

    shipped = {e.msgid: e.msgstr for e in polib.pofile(str(i18n.catalogue("fr")))}
    french_subject = shipped[MESSAGES["ticket.autoresp"][0]]
    assert french_subject and french_subject != MESSAGES["ticket.autoresp"][0]

    email_templates_seed_languages(actor=SYSTEM)
    ClientPreferences.objects.create(user=helpdesk.alice, language="fr")
    ticket = run(ingest, message(), channel="email").ticket

    [auto] = to("alice@acme.test")
    expected = Template(french_subject).render(
        Context({"ticket": {"number": ticket.number, "subject": ticket.subject}})
    )
    assert auto.subject == expected
    assert auto.extra_headers["Content-Language"] == "fr"


def test_a_task_alert_says_nobody_and_no_due_date_in_the_agents_language(helpdesk, run):
    """The defaults' fallback words come from the catalogue, not from inside a tag."""
    import polib

    from helpdesk import i18n
    from tickets import services

    AgentPreferences.objects.create(agent=helpdesk.manager_a, language="de")
    shipped = {e.msgid: e.msgstr for e in polib.pofile(str(i18n.catalogue("de")))}
    run(
        services.task_create,
        actor=helpdesk.agent_a,
        new=services.NewTask(title="Drucker", department=helpdesk.dept_a),
    )

    [alert] = to(helpdesk.manager_a.email)
    assert shipped["nobody yet"] in alert.body and shipped["no due date"] in alert.body
    assert "nobody yet" not in alert.body
