"""Fixtures of the portal tests: helpdesk defaults, a public topic with custom fields,
and a ticket for each client of the cast."""

import re

import pytest
from django.core import mail

from helpdesk.portal.models import PortalSettings
from helpdesk.portal.services import access_link_request
from tickets.models import CustomField, CustomForm, HelpdeskSettings

from ..factories import TopicFactory, attachment, open_ticket


@pytest.fixture
def helpdesk(cast):
    """The cast, with dept_a as the default department (where portal tickets go)."""
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    return cast


@pytest.fixture
def portal_config(db) -> PortalSettings:
    return PortalSettings.load()


@pytest.fixture
def topic(helpdesk):
    """A public topic with a form of every field kind, one of them agent-only."""
    topic = TopicFactory(name="Hardware", department=helpdesk.dept_a)
    form = CustomForm.objects.create(name="Device")
    form.topics.add(topic)
    fields = [
        ("asset", "Asset tag", "text", True, ""),
        ("details", "Details", "textarea", False, ""),
        ("model", "Model", "choice", True, "X1\nT14"),
        ("warranty", "Under warranty", "checkbox", False, ""),
        ("bought", "Bought on", "date", False, ""),
        ("phone", "Call-back number", "phone", False, ""),
        ("manager", "Manager's email", "email", False, ""),
    ]
    for sort, (name, label, kind, required, choices) in enumerate(fields):
        CustomField.objects.create(
            form=form,
            name=name,
            label=label,
            kind=kind,
            required=required,
            choices=choices,
            sort=sort,
        )
    CustomField.objects.create(
        form=form, name="internal", label="Internal code", client_visible=False, sort=99
    )
    return topic


@pytest.fixture
def tickets(helpdesk):
    """A ticket of each client, alice's with an attachment; the mail outbox emptied."""
    cast = helpdesk
    t = {
        "alice": open_ticket(
            cast.alice, subject="Alice's printer", files=[attachment("alice.txt", b"A")]
        ),
        "colleague": open_ticket(cast.alice_colleague, subject="Carl's laptop"),
        "bob": open_ticket(cast.bob, subject="Bob's screen", files=[attachment("bob.txt", b"B")]),
        "stranger": open_ticket(cast.stranger, subject="Stranger's mouse"),
    }
    mail.outbox.clear()
    return t


LINK = re.compile(r"https?://[^/\s]+(/access/[A-Za-z0-9_\-]+/)")


@pytest.fixture
def guest_login(django_capture_on_commit_callbacks):
    """guest_login(client, ticket, user) -> the client, signed in to that one ticket
    through the sign-in link the portal mails (as a guest would)."""

    def login(client, ticket, user):
        with django_capture_on_commit_callbacks(execute=True):
            link = access_link_request(email=user.email, number=ticket.number)
        assert link is not None
        path = LINK.search(mail.outbox[-1].body).group(1)
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/tickets/{ticket.number}/"
        return client

    return login
