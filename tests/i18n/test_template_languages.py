"""Email templates per language: which template a recipient in language L gets (the
department's set in L, the default set in L, the department's set for any language, the
default set for any language, the default in code in L), in one query; the seeded rows
per shipped language; the admin's language field."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.errors import ValidationFailed
from helpdesk.mail import templates
from helpdesk.mail.models import DepartmentMailSettings, EmailTemplate, EmailTemplateSet
from helpdesk.mail.services import email_templates_seed_languages

CODE = "ticket.autoresp"


@pytest.fixture
def default_set(db):
    return EmailTemplateSet.objects.get(is_default=True)


@pytest.fixture
def dept_set(cast):
    """dept_a's own template set."""
    chosen = EmailTemplateSet.objects.create(name="Support's")
    DepartmentMailSettings.objects.create(department=cast.dept_a, template_set=chosen)
    return chosen


def row(template_set, language, subject, code=CODE):
    return EmailTemplate.objects.update_or_create(
        template_set=template_set,
        code=code,
        language=language,
        defaults={"subject": subject, "body_html": "<p>{{ ticket.number }}</p>"},
    )[0]


def subject_for(language, department):
    context = templates.sample_context(CODE)
    return templates.render(CODE, context, department=department, language=language)[0]


def test_each_step_of_the_resolution_order_in_turn(cast, default_set, dept_set, french):
    row(dept_set, "fr", "department set, fr")
    row(default_set, "fr", "default set, fr")
    row(dept_set, "", "department set, any language")
    row(default_set, "", "default set, any language")  # the seeded row, edited

    assert subject_for("fr", cast.dept_a) == "department set, fr"
    EmailTemplate.objects.filter(template_set=dept_set, language="fr").delete()
    assert subject_for("fr", cast.dept_a) == "default set, fr"
    EmailTemplate.objects.filter(template_set=default_set, language="fr").delete()
    assert subject_for("fr", cast.dept_a) == "department set, any language"
    EmailTemplate.objects.filter(template_set=dept_set, language="").delete()
    assert subject_for("fr", cast.dept_a) == "default set, any language"
    EmailTemplate.objects.filter(template_set=default_set, code=CODE).delete()
    # the default in code, rendered in French (the test catalogue translates it)
    assert (
        subject_for("fr", cast.dept_a) == "Demande ouverte [#123456] Printer on floor 3 is jammed"
    )
    assert subject_for("en", cast.dept_a) == (
        "Support ticket opened [#123456] Printer on floor 3 is jammed"
    )


def test_another_languages_row_is_never_used(cast, default_set, dept_set):
    row(dept_set, "de", "Deutsch")
    row(default_set, "de", "Deutsch, Standard")

    assert subject_for("fr", cast.dept_a) == (
        "Support ticket opened [#123456] Printer on floor 3 is jammed"  # the seeded "" row
    )
    assert subject_for("de", cast.dept_a) == "Deutsch"
    assert subject_for("de", cast.dept_b) == "Deutsch, Standard"  # dept_b has no set


def test_the_rows_in_line_come_in_one_query(cast, default_set, dept_set, django_assert_num_queries):
    mine = [
        row(dept_set, "fr", "1").pk,
        row(default_set, "fr", "2").pk,
        row(dept_set, "", "3").pk,
        EmailTemplate.objects.get(template_set=default_set, code=CODE, language="").pk,
    ]
    row(default_set, "de", "not in line")

    with django_assert_num_queries(1):
        found = templates.sources(CODE, department=cast.dept_a, language="fr")

    assert [pk for *_, pk in found] == mine


def test_a_broken_row_in_the_language_falls_back_to_the_next_one_in_line(cast, default_set, caplog):
    row(default_set, "fr", "{% if %}broken")

    assert subject_for("fr", cast.dept_a) == (
        "Support ticket opened [#123456] Printer on floor 3 is jammed"
    )
    assert "the default template set's template was sent instead" in caplog.text


def test_one_template_per_set_code_and_language(default_set):
    row(default_set, "fr", "un")

    with pytest.raises(IntegrityError), transaction.atomic():
        EmailTemplate.objects.create(
            template_set=default_set, code=CODE, language="fr", subject="deux", body_html="<p></p>"
        )


def test_a_language_the_helpdesk_does_not_have_is_refused(default_set):
    template = EmailTemplate(
        template_set=default_set,
        code=CODE,
        language="tlh",
        subject="{{ ticket.subject }}",
        body_html="<p>nuqneH</p>",
    )

    with pytest.raises(ValidationError) as refused:
        template.full_clean()

    assert refused.value.message_dict["language"] == ["Choose one of the helpdesk's languages."]


# --- the seeded rows ----------------------------------------------------------------------


def test_the_seed_makes_a_row_per_translated_template_and_language(default_set, french):
    made = email_templates_seed_languages(actor=SYSTEM)

    assert made == 1  # the test catalogue translates one template, into French only
    seeded = EmailTemplate.objects.get(language="fr")
    assert (seeded.template_set, seeded.code) == (default_set, CODE)
    assert seeded.subject == "Demande ouverte [#{{ ticket.number }}] {{ ticket.subject }}"
    assert seeded.body_html.startswith("<p>Bonjour {{ recipient.name }},</p>")
    assert "Un agent vous répondra" in seeded.body_text  # derived from the HTML, as on save


def test_the_seed_never_overwrites_an_admins_edit(default_set, french):
    email_templates_seed_languages(actor=SYSTEM)
    EmailTemplate.objects.filter(language="fr").update(subject="Édité par l'admin")

    assert email_templates_seed_languages(actor=SYSTEM) == 0
    assert EmailTemplate.objects.get(language="fr").subject == "Édité par l'admin"


def test_the_seed_refuses_a_language_we_do_not_ship_and_makes_nothing(default_set, french):
    with pytest.raises(ValidationFailed) as refused:
        email_templates_seed_languages(actor=SYSTEM, languages=["fr", "xx"])

    assert refused.value.code == "invalid_language"
    assert not EmailTemplate.objects.exclude(language="").exists()


def test_the_seed_command_makes_them(default_set, french):
    from django.core.management import call_command

    call_command("seed_templates", "fr", verbosity=0)

    assert EmailTemplate.objects.filter(language="fr").count() == 1


# --- the admin ----------------------------------------------------------------------------


def test_the_admin_lists_and_filters_templates_by_language(client, cast, default_set):
    row(default_set, "fr", "Demande reçue")
    client.force_login(cast.admin)

    listed = client.get(reverse("admin:helpdesk_mail_emailtemplate_changelist"), {"language": "fr"})

    assert listed.status_code == 200
    assert [str(r) for r in listed.context["cl"].result_list] == [
        "New ticket autoresponse (to the client) (fr)"
    ]


def test_the_admin_adds_a_template_in_a_language_from_the_translated_default(
    client, cast, default_set, french
):
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_add")

    form = client.get(url, {"code": CODE, "language": "fr"}).context["adminform"].form

    assert form.initial["language"] == "fr"
    assert form.initial["subject"] == "Demande ouverte [#{{ ticket.number }}] {{ ticket.subject }}"
    posted = client.post(
        url,
        {
            "template_set": default_set.pk,
            "code": CODE,
            "language": "fr",
            "subject": form.initial["subject"],
            "body_html": form.initial["body_html"],
        },
    )
    assert posted.status_code == 302
    assert EmailTemplate.objects.get(language="fr").subject.startswith("Demande ouverte")
