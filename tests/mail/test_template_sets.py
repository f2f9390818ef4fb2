"""Email templates admins can trust: a template is refused on save, with its line and
the name at fault, when it does not parse, uses an unknown variable or fails with a
sample ticket; the HTML part is the one source and the text part is derived from it;
a preview renders it with a chosen ticket; each department picks a template set and the
default set fills in whatever a set does not define."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from helpdesk.mail import templates
from helpdesk.mail.models import DepartmentMailSettings, EmailTemplate, EmailTemplateSet
from helpdesk.mail.notifications import dept_settings

from ..factories import open_ticket


@pytest.fixture
def default_set(db):
    return EmailTemplateSet.objects.get(is_default=True)


def _form(row, **changes):
    data = {
        "template_set": row.template_set_id,
        "code": row.code,
        "subject": row.subject,
        "body_html": row.body_html,
    }
    return {**data, **changes}


# --- validation -------------------------------------------------------------------------


def test_a_syntax_error_is_refused_with_its_line(db, default_set):
    row = EmailTemplate(
        template_set=default_set,
        code="ticket.reply",
        subject="Re: {{ ticket.subject }}",
        body_html="<p>Hello</p>\n<p>{% if ticket.number %}open</p>",
    )

    with pytest.raises(ValidationError) as refused:
        row.full_clean(exclude=["template_set", "code"])

    [message] = refused.value.message_dict["body_html"]
    assert message.startswith("Line 2: Template error: Unclosed tag on line 2: 'if'.")


def test_an_unknown_variable_is_refused_with_its_name_and_line(db, default_set):
    row = EmailTemplate(
        template_set=default_set,
        code="ticket.reply",
        subject="Re: {{ ticket.subject }}",
        body_html="<p>Hello {{ recipient.name }},</p>\n\n<p>Your ticket {{ ticket.nubmer }}</p>",
    )

    with pytest.raises(ValidationError) as refused:
        row.full_clean(exclude=["template_set", "code"])

    [message] = refused.value.message_dict["body_html"]
    assert message.startswith("Unknown variables: {{ ticket.nubmer }} (line 3). ")
    assert "ticket.number" in message  # the documented ones are listed


def test_a_template_that_fails_with_the_sample_ticket_is_refused(db, default_set):
    row = EmailTemplate(
        template_set=default_set,
        code="ticket.reply",
        subject="Re: {{ ticket.subject }}",
        body_html="<p>{{ ticket.subject|wordwrap:0 }}</p>",
    )

    with pytest.raises(ValidationError) as refused:
        row.full_clean(exclude=["template_set", "code"])

    assert refused.value.message_dict["body_html"] == [
        "It fails with a sample ticket: ValueError: invalid width 0 (must be > 0)"
    ]


def test_a_good_template_is_saved_with_its_text_part_derived_from_the_html(
    client, cast, default_set
):
    row = EmailTemplate.objects.get(template_set=default_set, code="ticket.reply")
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_change", args=[row.pk])
    html = (
        "<p>Dear {{ recipient.name }} &amp; co,</p>"
        "<p>{{ entry.body_html }}</p><p>Ticket {{ ticket.number }}<br>{{ url }}</p>"
    )

    response = client.post(url, _form(row, body_html=html))

    assert response.status_code == 302, response.context["adminform"].form.errors
    row.refresh_from_db()
    assert row.body_html == html
    assert row.body_text == (
        "Dear {{ recipient.name }} & co,\n\n{{ entry.body_text }}\n\n"
        "Ticket {{ ticket.number }}\n{{ url }}"
    )


def test_the_admin_refuses_a_typo_and_keeps_the_row(client, cast, default_set, nothing_written):
    row = EmailTemplate.objects.get(template_set=default_set, code="ticket.reply")
    before = (row.subject, row.body_html, row.body_text)
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_change", args=[row.pk])

    with nothing_written():
        response = client.post(url, _form(row, body_html="<p>{{ ticket.subjet }}</p>"))

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["body_html"]
    assert error.startswith("Unknown variables: {{ ticket.subjet }} (line 1).")
    row.refresh_from_db()
    assert (row.subject, row.body_html, row.body_text) == before


def test_the_editor_lists_the_variables_of_its_template(client, cast, default_set):
    ticket_row = EmailTemplate.objects.get(template_set=default_set, code="ticket.reply")
    task_row = EmailTemplate.objects.get(template_set=default_set, code="task.alert")
    client.force_login(cast.admin)

    ticket_page = client.get(
        reverse("admin:helpdesk_mail_emailtemplate_change", args=[ticket_row.pk])
    ).content.decode()
    task_page = client.get(
        reverse("admin:helpdesk_mail_emailtemplate_change", args=[task_row.pk])
    ).content.decode()

    assert 'id="template-variables"' in ticket_page
    assert "<code>{{ ticket.requester_name }}</code>" in ticket_page
    assert "<code>{{ task.title }}</code>" not in ticket_page
    assert "<code>{{ task.title }}</code>" in task_page
    assert "<code>{{ ticket.requester_name }}</code>" not in task_page


# --- preview ----------------------------------------------------------------------------


def test_the_preview_renders_subject_text_and_html_with_a_chosen_ticket(client, cast, default_set):
    ticket = open_ticket(cast.alice, subject="Scanner <b>broken</b>", department=cast.dept_a)
    row = EmailTemplate.objects.get(template_set=default_set, code="ticket.autoresp")
    row.subject = "Opened: {{ ticket.subject }}"
    row.body_html = "<p>Dear {{ recipient.name }},</p><p>{{ ticket.subject }} {{ url }}</p>"
    row.save()
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_preview", args=[row.pk])

    response = client.get(url, {"ticket": ticket.number})

    assert response.status_code == 200
    subject, text, html = response.context["rendered"]
    assert subject == "Opened: Scanner <b>broken</b>"
    name = cast.alice.display_name
    assert text.startswith(f"Dear {name},\n\nScanner <b>broken</b> http")
    assert f"/tickets/{ticket.number}/" in text and "/scp/" not in text  # the client's link
    assert "<p>Scanner &lt;b&gt;broken&lt;/b&gt; http" in html  # escaped in HTML


def test_the_preview_uses_the_sample_ticket_without_one_and_refuses_an_unseen_one(
    client, cast, default_set
):
    row = EmailTemplate.objects.get(template_set=default_set, code="ticket.reply")
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_preview", args=[row.pk])

    sample = client.get(url)
    missing = client.get(url, {"ticket": "999999999"})

    assert sample.context["rendered"][0] == ("Re: Printer on floor 3 is jammed [#123456]")
    assert missing.status_code == 200
    assert missing.context["problem"] == "No ticket 999999999 that you may see."
    assert missing.context["chosen_ticket"] is None


def test_the_preview_is_for_admins_only(client, cast, default_set):
    row = EmailTemplate.objects.get(template_set=default_set, code="ticket.reply")
    client.force_login(cast.agent_a)
    url = reverse("admin:helpdesk_mail_emailtemplate_preview", args=[row.pk])

    response = client.get(url)

    assert response.status_code in (302, 403, 404)
    assert "rendered" not in (response.context or {})


def test_the_preview_of_unsaved_edits_renders_the_form_not_the_saved_row(client, cast, default_set):
    ticket = open_ticket(cast.alice, subject="Scanner jammed", department=cast.dept_a)
    row = EmailTemplate.objects.get(template_set=default_set, code="ticket.reply")
    saved = (row.subject, row.body_html)
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_preview", args=[row.pk])
    edits = _form(row, subject="Edited: {{ ticket.subject }}", body_html="<p>Draft {{ url }}</p>")

    response = client.post(url, {**edits, "ticket": ticket.number})

    assert response.status_code == 200
    subject, text, html = response.context["rendered"]
    assert subject == "Edited: Scanner jammed"
    assert text.startswith("Draft http") and "<p>Draft http" in html
    page = response.content.decode()
    assert 'id="preview-unsaved"' in page and 'method="post"' in page  # re-preview keeps them
    row.refresh_from_db()
    assert (row.subject, row.body_html) == saved  # nothing saved
    # a GET still previews the saved row
    assert client.get(url).context["rendered"][0] == "Re: Printer on floor 3 is jammed [#123456]"


def test_the_preview_of_edits_shows_errors_with_line_and_name_like_on_save(
    client, cast, default_set
):
    row = EmailTemplate.objects.get(template_set=default_set, code="ticket.reply")
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_preview", args=[row.pk])
    body = "<p>Hello {{ recipient.name }},</p>\n\n<p>Your ticket {{ ticket.nubmer }}</p>"

    response = client.post(url, _form(row, body_html=body))

    assert response.status_code == 200
    assert response.context["rendered"] is None
    [problem] = response.context["problems"]
    assert problem.startswith("HTML body: Unknown variables: {{ ticket.nubmer }} (line 3). ")
    assert "{{ ticket.nubmer }} (line 3)" in response.content.decode()

    broken = client.post(url, _form(row, subject="Re: {% if x %}"))
    assert broken.context["rendered"] is None
    assert broken.context["problems"][0].startswith("Subject: Line 1: ")


def test_a_template_being_added_is_previewed_from_its_form(client, cast, default_set):
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_preview_new")
    data = {
        "code": "ticket.autoresp",
        "subject": "Got {{ ticket.number }}",
        "body_html": "<p>Hi</p>",
    }

    response = client.post(url, data)
    nocode = client.post(url, {**data, "code": "nonsense"})

    assert response.context["rendered"][0] == "Got 123456"
    assert nocode.context["rendered"] is None
    assert nocode.context["problems"] == ["Choose the template (its code) to preview."]
    assert client.get(url).status_code == 404  # nothing saved to preview
    add_page = client.get(reverse("admin:helpdesk_mail_emailtemplate_add")).content.decode()
    assert f'formaction="{url}"' in add_page


def test_previewing_edits_is_for_admins_only(client, cast, default_set):
    row = EmailTemplate.objects.get(template_set=default_set, code="ticket.reply")
    client.force_login(cast.agent_a)
    url = reverse("admin:helpdesk_mail_emailtemplate_preview", args=[row.pk])

    response = client.post(url, _form(row, subject="Edited"))

    assert response.status_code in (302, 403, 404)
    assert "rendered" not in (response.context or {})


# --- template sets ----------------------------------------------------------------------


@pytest.fixture
def friendly(db):
    """A set defining only the new ticket autoresponse, picked by dept_a."""
    chosen = EmailTemplateSet.objects.create(name="Friendly")
    EmailTemplate.objects.create(
        template_set=chosen,
        code="ticket.autoresp",
        subject="Hi! We got it {{ ticket.subject }}",
        body_html="<p>Hi {{ recipient.name }}!</p>",
    )
    return chosen


def test_a_department_uses_its_set_and_the_default_set_for_what_it_lacks(cast, friendly):
    settings = dept_settings(cast.dept_a)
    settings.template_set = friendly
    settings.save()
    context = templates.sample_context("ticket.autoresp")

    own = templates.render("ticket.autoresp", context, department=cast.dept_a)
    fallback = templates.render("ticket.reply", context, department=cast.dept_a)
    other_dept = templates.render("ticket.autoresp", context, department=cast.dept_b)

    assert own[0] == "Hi! We got it Printer on floor 3 is jammed"
    assert own[1] == "Hi Alice Example!\n"
    assert fallback[0] == "Re: Printer on floor 3 is jammed [#123456]"
    assert other_dept[0] == "Support ticket opened [#123456] Printer on floor 3 is jammed"


def _customise_default(default_set, code: str, subject: str) -> None:
    """The default set's row for `code` made different from the default in code."""
    EmailTemplate.objects.filter(template_set=default_set, code=code).update(
        subject=subject, body_html="<p>From the default set</p>", body_text="From the default set"
    )


def test_a_template_the_departments_set_lacks_comes_from_the_default_set_not_the_code(
    cast, friendly, default_set
):
    DepartmentMailSettings.objects.create(department=cast.dept_a, template_set=friendly)
    _customise_default(default_set, "ticket.reply", "Default set: {{ ticket.subject }}")
    context = templates.sample_context("ticket.reply")

    subject, text, _ = templates.render("ticket.reply", context, department=cast.dept_a)

    assert subject == "Default set: Printer on floor 3 is jammed"
    assert text == "From the default set\n"


def test_a_broken_department_template_falls_back_to_the_default_sets_then_the_code(
    cast, friendly, default_set, caplog
):
    import logging

    from helpdesk.mail.models import OutboundMessage

    DepartmentMailSettings.objects.create(department=cast.dept_a, template_set=friendly)
    own = EmailTemplate.objects.get(template_set=friendly, code="ticket.autoresp")
    # broken after it was saved (an upgrade, a bypassed form): it fails at render time
    EmailTemplate.objects.filter(pk=own.pk).update(body_text="{{ ticket.subject|wordwrap:0 }}")
    _customise_default(default_set, "ticket.autoresp", "Default set: {{ ticket.number }}")
    context = templates.sample_context("ticket.autoresp")

    with caplog.at_level(logging.ERROR, logger="helpdesk.mail.templates"):
        subject, text, _ = templates.render("ticket.autoresp", context, department=cast.dept_a)

    assert (subject, text) == ("Default set: 123456", "From the default set\n")
    [logged] = [r.getMessage() for r in caplog.records]
    assert "the default template set's template was sent instead" in logged
    alert = OutboundMessage.objects.get(subject="Email template ticket.autoresp is broken")
    assert f"/emailtemplate/{own.pk}/change/" in alert.body_text

    # the default set's broken too: the default in code
    EmailTemplate.objects.filter(template_set=default_set, code="ticket.autoresp").update(
        subject="{% if %}"
    )
    subject, _, _ = templates.render("ticket.autoresp", context, department=cast.dept_a)
    assert subject == "Support ticket opened [#123456] Printer on floor 3 is jammed"


def test_the_mail_code_picks_the_set_of_the_tickets_department(
    cast, friendly, django_capture_on_commit_callbacks
):
    from helpdesk.mail.models import OutboundMessage

    DepartmentMailSettings.objects.create(department=cast.dept_a, template_set=friendly)

    with django_capture_on_commit_callbacks(execute=True):
        in_a = open_ticket(cast.alice, department=cast.dept_a, subject="Printer A")
    with django_capture_on_commit_callbacks(execute=True):
        in_b = open_ticket(cast.bob, department=cast.dept_b, subject="Printer B")

    mail_a = OutboundMessage.objects.get(ticket=in_a, template="ticket.autoresp")
    mail_b = OutboundMessage.objects.get(ticket=in_b, template="ticket.autoresp")
    assert mail_a.subject == "Hi! We got it Printer A"
    assert mail_b.subject.startswith("Support ticket opened [#")


def test_a_deleted_set_leaves_its_departments_on_the_default_set(cast, friendly):
    DepartmentMailSettings.objects.create(department=cast.dept_a, template_set=friendly)
    friendly.delete()
    context = templates.sample_context("ticket.autoresp")

    subject, _, _ = templates.render("ticket.autoresp", context, department=cast.dept_a)

    assert subject.startswith("Support ticket opened")
    assert EmailTemplateSet.objects.filter(is_default=True).count() == 1


def test_there_is_one_default_set(db, default_set):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        EmailTemplateSet.objects.create(name="Another", is_default=True)


# --- the migration to one source --------------------------------------------------------


def test_the_migration_keeps_a_text_only_template_and_derives_text_from_html(db, default_set):
    migration = importlib.import_module("helpdesk.mail.migrations.0010_template_sets")
    EmailTemplate.objects.filter(code="ticket.reply").update(
        body_html="", body_text="Dear {{ recipient.name }},\n\nA < B & {{ ticket.number }}"
    )
    EmailTemplate.objects.filter(code="ticket.alert").update(
        body_html="<p>Alert {{ entry.body_html }}</p>", body_text="drifted apart"
    )

    migration.forward(django_apps, None)

    reply = EmailTemplate.objects.get(code="ticket.reply")
    alert = EmailTemplate.objects.get(code="ticket.alert")
    assert (
        reply.body_html
        == "<p>Dear {{ recipient.name }},</p><p>A &lt; B &amp; {{ ticket.number }}</p>"
    )
    assert reply.body_text == "Dear {{ recipient.name }},\n\nA < B & {{ ticket.number }}"
    assert (alert.body_html, alert.body_text) == (
        "<p>Alert {{ entry.body_html }}</p>",
        "Alert {{ entry.body_text }}",
    )
    assert (
        templates.template_errors(reply.subject, None, reply.body_html, code="ticket.reply") == {}
    )


def test_the_text_part_is_the_same_whatever_line_ends_the_browser_posts():
    unix = "<p>Hello {{ recipient.name }},</p>\n<p>Bye</p>"

    assert templates.derive_text(unix.replace("\n", "\r\n")) == templates.derive_text(unix)
    assert templates.derive_text(unix) == "Hello {{ recipient.name }},\n\nBye"


# --- the sets in the admin --------------------------------------------------------------


def test_a_second_default_set_is_refused_on_the_form(client, cast, default_set, nothing_written):
    client.force_login(cast.admin)

    with nothing_written():
        response = client.post(
            reverse("admin:helpdesk_mail_emailtemplateset_add"),
            {
                "name": "Another",
                "is_default": "on",
                "notes": "",
                "templates-TOTAL_FORMS": "0",
                "templates-INITIAL_FORMS": "0",
            },
        )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors


def test_the_default_set_cannot_be_deleted(client, cast, default_set):
    client.force_login(cast.admin)

    response = client.post(
        reverse("admin:helpdesk_mail_emailtemplateset_delete", args=[default_set.pk]),
        {"post": "yes"},
    )

    assert response.status_code == 403
    assert EmailTemplateSet.objects.filter(pk=default_set.pk).exists()


@pytest.mark.parametrize("url_name", ["emailtemplate", "emailtemplateset"])
def test_the_template_lists_cost_the_same_queries_whatever_their_length(
    client, cast, default_set, url_name
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(cast.admin)
    url = reverse(f"admin:helpdesk_mail_{url_name}_changelist")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = count()
    for i in range(5):
        extra = EmailTemplateSet.objects.create(name=f"Set {i}")
        EmailTemplate.objects.create(
            template_set=extra, code="ticket.reply", subject="x", body_html="<p>x</p>"
        )
    assert count() == few


@pytest.mark.parametrize(
    ("code", "link"), [("ticket.reply", "/tickets/"), ("ticket.alert", "/scp/tickets/")]
)
def test_the_preview_links_as_the_mail_would_client_or_agent(client, cast, default_set, code, link):
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    row = EmailTemplate.objects.get(template_set=default_set, code=code)
    row.body_html = "<p>{{ url }}</p>"
    row.save()
    client.force_login(cast.admin)

    response = client.get(
        reverse("admin:helpdesk_mail_emailtemplate_preview", args=[row.pk]),
        {"ticket": ticket.number},
    )

    text = response.context["rendered"][1].strip()
    assert text.endswith(f"{link}{ticket.number}/")
    assert ("/scp/" in text) == (code == "ticket.alert")
