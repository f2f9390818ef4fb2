"""Admin-edited email templates run in a restricted template language: refused on save
with a clear message, replaced by the default (and admins told) when they cannot be used
at send time; plain text and subjects are not HTML-escaped, HTML is; agents' alerts load
no remote image from client content."""

import datetime as dt
import logging

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from helpdesk.mail import sandbox, templates
from helpdesk.mail.models import EmailTemplate, OutboundMessage
from tickets import services

from ..factories import open_ticket


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


def test_every_default_template_passes_the_sandbox():
    for code, (subject, text) in templates.DEFAULTS.items():
        html = templates.default_html(text)
        assert templates.template_errors(subject, text, html, code=code) == {}, code


def test_task_templates_see_a_task_and_ticket_templates_a_ticket():
    [task_in_ticket] = sandbox.validate("{{ task.title }}")
    assert task_in_ticket.startswith("Unknown variables: {{ task.title }}. ")
    assert templates.template_errors(
        "{{ ticket.subject }}", "{{ task.title }}", "", code="task.alert"
    ) == {
        "subject": "Unknown variables: {{ ticket.subject }} (line 1). Use the documented ones: "
        "task.assigned_to, task.assignee, task.created, task.department, task.due, "
        "task.due_or_none, task.number, task.status, task.team, task.ticket, task.title, "
        "recipient.email, recipient.name, entry.body_html, "
        "entry.body_text, entry.kind, entry.poster, entry.title, agent.name, department.name, "
        "assignee, team, previous_department, signature, url."
    }
    row = EmailTemplate(code="task.overdue.alert", subject="{{ ticket.number }}", body_html="x")
    with pytest.raises(ValidationError) as refused:
        row.clean()
    assert refused.value.message_dict["subject"][0].startswith(
        "Unknown variables: {{ ticket.number }} (line 1). "
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{% debug %}",
            "The tag {% debug %} is not allowed in email templates: it would print "
            "every value the template can see.",
        ),
        (
            "{% load static %}{% static 'x' %}",
            "The tag {% load %} is not allowed in email "
            "templates: email templates load no libraries.",
        ),
        (
            '{% include "portal/base.html" %}',
            "The tag {% include %} is not allowed in email "
            "templates: email templates cannot read other templates.",
        ),
        (
            '{% extends "portal/base.html" %}',
            "The tag {% extends %} is not allowed in email "
            "templates: email templates cannot read other templates.",
        ),
        (
            "{% autoescape off %}{{ entry.title }}{% endautoescape %}",
            "The tag {% autoescape %} "
            "is not allowed in email templates: it would turn off the escaping of HTML mail.",
        ),
        (
            "{% csrf_token %}",
            "The tag {% csrf_token %} is not allowed in email templates: only "
            "if, with, firstof, comment are allowed.",
        ),
    ],
)
def test_tags_that_reveal_context_or_load_code_are_refused(source, message):
    assert sandbox.validate(source) == [message]


def test_unknown_variables_and_filters_are_refused():
    [unknown] = sandbox.validate("{{ ticket.requester.password }} {{ settings.SECRET_KEY }}")
    assert unknown.startswith(
        "Unknown variables: {{ ticket.requester.password }}, {{ settings.SECRET_KEY }}. "
        "Use the documented ones: ticket.created, "
    )
    [safe] = sandbox.validate("{{ entry.body_text|safe }}")
    assert safe.startswith("Template error: Invalid filter: 'safe'. Allowed filters: capfirst,")
    assert (
        sandbox.validate(
            "{% with n=ticket.number %}{{ n|upper }}{% endwith %}{{ recipient.name|default:'you' }}"
            "{% firstof agent.name 'us' %}{# a note #}{% if url %}{{ url }}{% endif %}"
        )
        == []
    )


NO_LOOPS = (
    "The tag {% for %} is not allowed in email templates: no value of an email template "
    "is a list, and a loop over text repeats its body once per character."
)


@pytest.mark.parametrize(
    "source",
    [
        # the reviewer's case: three nested loops over the subject gave 110 KB
        "{% for a in ticket.subject %}{% for b in ticket.subject %}"
        "{% for c in ticket.subject %}{{ entry.body_text }}{% endfor %}{% endfor %}{% endfor %}",
        "{% for c in entry.body_text %}{{ entry.body_text }}{% endfor %}",  # one is enough
        "{% for k in ticket %}{{ k }}{% empty %}none{% endfor %}",
    ],
)
def test_loops_are_refused_on_save_since_every_value_is_text(source):
    assert sandbox.validate(source) == [NO_LOOPS]


def test_join_is_refused_since_on_text_it_repeats_its_argument_per_character():
    [refused] = sandbox.validate("{{ entry.body_text|join:entry.body_text }}")

    assert refused.startswith("Template error: Invalid filter: 'join'. Allowed filters: ")
    assert "join" not in refused.partition("Allowed filters: ")[2]


@pytest.mark.parametrize(
    ("source", "snippet"),
    [
        ("Dear {{ recipient.name }, hello", "{{ recipient.name }, hello"),
        ("Dear {{ recipient.name }}}} hello", "}} hello"),
        ("Ticket {% if url %}{{ url }}{% endif %} %} done", "%} done"),
        ("Hello {% if url }}", "{% if url }}"),
        ("Hello {# unfinished", "{# unfinished"),
        ("Hello #} there", "#} there"),
    ],
)
def test_text_that_holds_a_broken_tag_is_refused_on_save(source, snippet):
    assert sandbox.validate(source) == [
        f'Text that looks like a broken tag: "{snippet}". Tags are written {{{{ value }}}}, '
        "{% tag %} and {# comment #}; a stray {{, }}, {%, %}, {# or #} would reach the "
        "reader as it is."
    ]


def test_a_template_that_passes_the_checks_can_be_saved_with_braces_of_its_own():
    assert sandbox.validate("Ticket {ref}: {{ ticket.number }} {}") == []


def test_rendering_stops_as_soon_as_the_output_passes_its_limit():
    from django.template import Context

    rendered = []

    class Value:
        def __str__(self):
            rendered.append(1)
            return "y" * 100

    with pytest.raises(sandbox.TooLarge, match="over 250 characters"):
        sandbox.render(sandbox.TEXT, "{{ x }}" * 1000, Context({"x": Value()}), limit=250)

    assert len(rendered) == 3  # 100, 200, 300: the third went over, the rest never ran
    assert sandbox.render(sandbox.TEXT, "{{ x }}" * 2, Context({"x": Value()}), limit=250) == (
        "y" * 200
    )


def test_the_admin_refuses_a_template_with_a_clear_message_and_saves_nothing(
    client, helpdesk, nothing_written
):
    row = EmailTemplate.objects.get(code="ticket.reply")
    before = (row.subject, row.body_text, row.body_html)
    client.force_login(helpdesk.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_change", args=[row.pk])
    with nothing_written():
        response = client.post(
            url,
            {
                "template_set": row.template_set_id,
                "code": row.code,
                "subject": "Re: {{ ticket.subject }} {% debug %}",
                "body_html": "<p>Hello</p>\n<p>{{ ticket.owner.password }}</p>",
            },
        )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["subject"] == [
        "Line 1: The tag {% debug %} is not allowed in email templates: it would print every "
        "value the template can see."
    ]
    assert errors["body_html"] == [
        "Unknown variables: {{ ticket.owner.password }} (line 2). Use the documented ones: "
        "ticket.created, ticket.department, ticket.due, ticket.number, ticket.priority, "
        "ticket.requester_email, ticket.requester_name, ticket.status, ticket.subject, "
        "ticket.topic, recipient.email, recipient.name, entry.body_html, entry.body_text, "
        "entry.kind, entry.poster, entry.title, agent.name, department.name, assignee, team, "
        "previous_department, signature, url."
    ]
    row.refresh_from_db()
    assert (row.subject, row.body_text, row.body_html) == before
    with nothing_written(), pytest.raises(ValidationError):
        EmailTemplate(code="ticket.alert", subject="{% load x %}", body_html="x").full_clean()


@pytest.mark.parametrize(
    "broken",
    [
        "Hello {% debug %}",  # written around the admin (a bulk update, SQL): refused at send
        "{% for c in ticket.subject %}{{ c }}{% endfor %}",  # loops were allowed before
        "Dear {{ recipient.name }, hello",  # a broken tag
        # passes the checks, fails while rendering (a width that is not a number)
        '{{ entry.body_text|wordwrap:"wide" }}',
        # passes the checks, renders past the size limit (here 2,000 characters plus four
        # times the values): rendering stops there
        "{{ entry.body_text }}{{ ticket.subject }}{{ url }}" * 400,
    ],
)
def test_a_template_that_cannot_be_used_sends_the_default_and_alerts_admins(
    helpdesk, run, broken, caplog, settings
):
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "TEMPLATE_MAX_CHARS": 2000}
    EmailTemplate.objects.filter(code="ticket.reply").update(body_text=broken)
    ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_a, subject="Printer")
    mail.outbox.clear()
    with caplog.at_level(logging.ERROR, logger="helpdesk.mail.templates"):
        run(services.ticket_post_reply, actor=helpdesk.agent_a, ticket=ticket, body="Fixed.")
        run(services.ticket_post_reply, actor=helpdesk.agent_a, ticket=ticket, body="Again.")

    replies = [m for m in mail.outbox if m.to == ["alice@acme.test"]]
    assert len(replies) == 2
    for reply in replies:
        assert "{%" not in reply.body and "{{" not in reply.body
        assert reply.body.startswith("-- reply above this line --\n\n")
    assert "Fixed.\n\n" in replies[0].body and f"Ticket #{ticket.number}" in replies[0].body
    [alert] = [m for m in mail.outbox if m.subject == "Email template ticket.reply is broken"]
    assert alert.to == ["root@helpdesk.test"]  # the helpdesk admins, once an hour
    assert "the default text was sent instead" in alert.body
    assert "/admin/helpdesk_mail/emailtemplate/" in alert.body
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 2
    assert logged[0].startswith(
        "email template ticket.reply cannot be used, the default text was sent instead"
    )


def test_text_and_subjects_are_not_escaped_and_html_is(helpdesk, run):
    helpdesk.alice.name = "Seán O'Brien"
    helpdesk.alice.save()
    EmailTemplate.objects.filter(code="ticket.reply").update(
        subject="Re: {{ ticket.subject }}",
        body_text="Dear {{ recipient.name }}, about {{ ticket.subject }}",
        body_html="<p>Dear {{ recipient.name }}, about {{ ticket.subject }}</p>",
    )
    ticket = open_ticket(
        helpdesk.alice, department=helpdesk.dept_a, subject="O'Brien & Sons <urgent>"
    )
    run(services.ticket_post_reply, actor=helpdesk.agent_a, ticket=ticket, body="Done.")

    [reply] = [m for m in mail.outbox if m.to == ["alice@acme.test"]]
    assert reply.subject == "Re: O'Brien & Sons <urgent>"
    assert "Dear Seán O'Brien, about O'Brien & Sons <urgent>" in reply.body
    html = reply.alternatives[0][0]
    assert "<p>Dear Seán O&#x27;Brien, about O&#x27;Brien &amp; Sons &lt;urgent&gt;</p>" in html
    row = OutboundMessage.objects.get(template="ticket.reply")
    assert row.subject == "Re: O'Brien & Sons <urgent>"


def test_agents_alerts_link_to_remote_images_instead_of_loading_them(helpdesk, run):
    body = (
        '<p>See <img src="https://tracker.example/pixel.gif?who=alice" alt="my screen">'
        ' and <img src="cid:part1"></p>'
    )
    ticket = run(
        open_ticket,
        helpdesk.alice,
        department=helpdesk.dept_a,
        body=body,
        fmt="html",
    )
    [alert] = [m for m in mail.outbox if m.to == ["alex@helpdesk.test"]]
    html = alert.alternatives[0][0]
    assert "<img" not in html.replace('<img src="cid:part1">', "")
    assert (
        '<a href="https://tracker.example/pixel.gif?who=alice" rel="noopener noreferrer '
        'nofollow">[image: my screen]</a>'
    ) in html
    # the ticket keeps the client's HTML as it was sanitised
    assert 'src="https://tracker.example/pixel.gif?who=alice"' in (
        ticket.thread.entries.get().body_html
    )


def test_protocol_relative_and_relative_images_become_links_too():
    from helpdesk.mail.outbound import remote_images_as_links
    from threads.html import sanitize_html

    body = sanitize_html(
        '<p><img src="//evil.example/t.gif" alt="pixel"><img src=" HTTPS://x.example/a.png">'
        '<img src="cid:part1"></p>'
    )

    html = remote_images_as_links(body)

    assert html.count("<img") == 1 and '<img src="cid:part1">' in html
    assert '<a href="//evil.example/t.gif" rel="noopener noreferrer nofollow">' in html


# --- the "template is broken" alert goes through the outbox ------------------------------

ALERT = "Email template ticket.reply is broken"


def _alerts() -> list[tuple[str, str, str]]:
    rows = OutboundMessage.objects.filter(template="template.alert").order_by("id")
    return list(rows.values_list("recipient", "subject", "status"))


def test_the_broken_template_alert_is_outbox_mail_and_survives_a_failed_send(
    helpdesk, run, settings
):
    from helpdesk.outbox.models import OutboxTask
    from helpdesk.outbox.services import outbox_drain

    ticket = run(open_ticket, helpdesk.alice, department=helpdesk.dept_a, subject="Printer")
    EmailTemplate.objects.filter(code="ticket.reply").update(body_text="Hello {% debug %}")
    settings.EMAIL_BACKEND = "tests.mail.failing_backend.EmailBackend"
    mail.outbox.clear()

    run(services.ticket_post_reply, actor=helpdesk.agent_a, ticket=ticket, body="Fixed.")

    assert _alerts() == [("root@helpdesk.test", ALERT, "queued")]  # the send failed: kept
    alert = OutboundMessage.objects.get(template="template.alert")
    assert (alert.attempts, alert.recipient_is_agent, alert.ticket) == (1, True, None)
    assert "the default text was sent instead" in alert.body_text
    waiting = OutboxTask.objects.filter(task="helpdesk.mail.tasks.send_outbound_task")
    assert [row.args for row in waiting if row.args == [alert.pk]] == [[alert.pk]]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    outbox_drain(now=timezone.now() + dt.timedelta(hours=2))  # the outbox job, later on

    assert _alerts() == [("root@helpdesk.test", ALERT, "sent")]
    assert [m.to for m in mail.outbox if m.subject == ALERT] == [["root@helpdesk.test"]]


def test_an_alert_rolled_back_with_its_change_does_not_use_up_the_hour(helpdesk, run):
    EmailTemplate.objects.filter(code="ticket.reply").update(body_text="Hello {% debug %}")
    values = {"recipient": {"name": "Alice", "email": "alice@acme.test"}}

    with pytest.raises(RuntimeError), transaction.atomic():
        templates.render("ticket.reply", values)
        raise RuntimeError("the change that was mailing failed")

    assert _alerts() == []
    run(templates.render, "ticket.reply", values)
    run(templates.render, "ticket.reply", values)  # within the hour: no second alert
    assert _alerts() == [("root@helpdesk.test", ALERT, "sent")]
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61)):
        run(templates.render, "ticket.reply", values)
    assert _alerts() == [("root@helpdesk.test", ALERT, "sent")] * 2
    assert [m.subject for m in mail.outbox] == [ALERT, ALERT]
