"""Admin-edited email templates run in a restricted template language: refused on save
with a clear message, replaced by the default (and admins told) when they cannot be used
at send time; plain text and subjects are not HTML-escaped, HTML is; agents' alerts load
no remote image from client content."""

import logging

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

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
        assert templates.template_errors(subject, text, templates.default_html(text)) == {}, code


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
            "if, for, with, firstof, comment are allowed.",
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
            "{% for c in ticket.subject %}{{ c|upper }}{{ forloop.counter }}{% endfor %}"
            "{% with n=ticket.number %}{{ n }}{% endwith %}{{ recipient.name|default:'you' }}"
        )
        == []
    )


def test_the_admin_refuses_a_template_with_a_clear_message_and_saves_nothing(client, helpdesk):
    row = EmailTemplate.objects.get(code="ticket.reply")
    before = (row.subject, row.body_text, row.body_html)
    client.force_login(helpdesk.admin)
    url = reverse("admin:helpdesk_mail_emailtemplate_change", args=[row.pk])
    response = client.post(
        url,
        {
            "code": row.code,
            "subject": "Re: {{ ticket.subject }}",
            "body_text": "{% debug %}",
            "body_html": "<p>{{ ticket.owner.password }}</p>",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["body_text"] == [
        "The tag {% debug %} is not allowed in email templates: it would print every value "
        "the template can see."
    ]
    assert errors["body_html"][0].startswith("Unknown variables: {{ ticket.owner.password }}.")
    row.refresh_from_db()
    assert (row.subject, row.body_text, row.body_html) == before
    with pytest.raises(ValidationError):
        EmailTemplate(code="ticket.alert", subject="{% load x %}", body_text="x").full_clean()


@pytest.mark.parametrize(
    "broken",
    [
        "Hello {% debug %}",  # written around the admin (a bulk update, SQL): refused at send
        # passes the checks, fails while rendering (a for loop over a number)
        "{% with n=ticket.number|length %}{% for x in n %}{% endfor %}{% endwith %}",
    ],
)
def test_a_template_that_cannot_be_used_sends_the_default_and_alerts_admins(
    helpdesk, run, broken, caplog
):
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
    assert logged[0].startswith("email template ticket.reply cannot be used, the default was")


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
