"""Opening a ticket in the portal: clients and guests, help topics and their fields,
attachments, errors per field with the input kept, the one-time token and the per-IP
limit."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from helpdesk.portal.models import FormSubmission
from routing.models import BannedEmail
from threads.models import Attachment
from tickets.models import Ticket, TicketFieldValue

from ..factories import TopicFactory

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def form_token(client, url="/open/") -> str:
    return TOKEN.search(client.get(url).content.decode()).group(1)


def valid(topic_, token, **extra) -> dict:
    data = {
        "form_token": token,
        "topic": topic_.pk,
        "subject": "Laptop will not boot",
        "message": "It beeps three times.",
        "cf_asset": "A-100",
        "cf_model": "T14",
        "cf_warranty": "on",
        "cf_bought": "2024-05-01",
        "cf_phone": "+1 555 0100",
        "cf_manager": "boss@acme.test",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def test_a_client_opens_a_ticket_with_the_topics_fields_and_files(client, helpdesk, topic):
    client.force_login(helpdesk.alice)
    data = valid(topic, form_token(client))
    data["attachments"] = [
        SimpleUploadedFile("boot.log", b"beep beep beep", content_type="text/plain"),
        SimpleUploadedFile("photo.png", b"\x89PNG fake", content_type="image/png"),
    ]
    response = client.post("/open/", data)
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.number}/"
    assert (ticket.requester, ticket.subject, ticket.topic, ticket.department) == (
        helpdesk.alice,
        "Laptop will not boot",
        topic,
        helpdesk.dept_a,
    )
    assert (ticket.source, ticket.ip_address) == ("web", "127.0.0.1")
    event = ticket.thread.events.get(kind="created")
    assert (event.actor, event.channel) == (helpdesk.alice, "portal")
    values = dict(
        TicketFieldValue.objects.filter(ticket=ticket).values_list("field__name", "value")
    )
    assert values == {
        "asset": "A-100",
        "details": "",
        "model": "T14",
        "warranty": "yes",
        "bought": "2024-05-01",
        "phone": "+1 555 0100",
        "manager": "boss@acme.test",
    }
    entry = ticket.thread.entries.get()
    assert entry.body_text == "It beeps three times."
    assert sorted(entry.attachments.values_list("filename", "content_type")) == [
        ("boot.log", "text/plain"),
        ("photo.png", "image/png"),
    ]
    page = client.get(response["Location"]).content.decode()
    assert f"Ticket #{ticket.number} is open." in page


def test_a_guest_opens_a_ticket_and_is_not_shown_it(client, helpdesk, topic):
    data = valid(topic, form_token(client), name="Gail Guest", email="Gail@Example.org")
    response = client.post("/open/", data)
    assert response.status_code == 302
    assert response["Location"] == "/open/thanks/"
    ticket = Ticket.objects.get()
    gail = User.objects.get(email="gail@example.org")
    assert (ticket.requester, gail.name, gail.has_usable_password()) == (gail, "Gail Guest", False)
    event = ticket.thread.events.get(kind="created")
    assert (event.actor, event.actor_label, event.channel) == (None, "system", "portal")
    thanks = client.get("/open/thanks/").content.decode()
    assert f"Ticket #{ticket.number} received" in thanks
    assert f"/access/?number={ticket.number}" in thanks
    assert "Laptop will not boot" not in thanks  # nothing of the ticket itself
    assert client.get(f"/tickets/{ticket.number}/").status_code == 302  # to sign in


def test_a_guest_using_a_clients_address_opens_for_that_client(client, helpdesk, topic):
    data = valid(topic, form_token(client), name="Somebody", email="alice@acme.test")
    client.post("/open/", data)
    ticket = Ticket.objects.get()
    assert ticket.requester == helpdesk.alice
    assert User.objects.filter(email="alice@acme.test").count() == 1
    helpdesk.alice.refresh_from_db()
    assert helpdesk.alice.name != "Somebody"


def test_every_bad_field_gets_its_error_the_input_is_kept_and_nothing_is_written(
    client, helpdesk, topic, nothing_written
):
    users = User.objects.count()
    token = form_token(client)
    data = valid(
        topic,
        token,
        name="",
        email="not-an-address",
        subject="",
        message="",
        cf_asset="",
        cf_model="Z9",
        cf_bought="yesterday",
        cf_phone="call me",
        cf_manager="nobody",
        cf_details="Keep this text",
    )
    with nothing_written():
        response = client.post("/open/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {
        "name": ["This field is required."],
        "email": ["Enter a valid email address."],
        "subject": ["This field is required."],
        "message": ["This field is required."],
        "cf_asset": ["This field is required."],
        "cf_model": ["Select a valid choice. Z9 is not one of the available choices."],
        "cf_bought": ["Enter a date as YYYY-MM-DD."],
        "cf_phone": ["Enter a phone number."],
        "cf_manager": ["Enter a valid email address."],
    }
    html = response.content.decode()
    assert 'value="not-an-address"' in html
    assert "Keep this text</textarea>" in html
    assert f'value="{token}"' in html  # the same token: sending it again still works
    assert 'aria-invalid="true"' in html and 'role="alert"' in html
    assert (Ticket.objects.count(), User.objects.count(), FormSubmission.objects.count()) == (
        0,
        users,
        0,
    )
    # fixed, the same form goes through
    response = client.post("/open/", valid(topic, token, name="Gail", email="gail@example.org"))
    assert response.status_code == 302
    assert Ticket.objects.count() == 1


def test_a_required_checkbox_and_the_topic_are_required(client, helpdesk, topic, nothing_written):
    from tickets.models import CustomField

    CustomField.objects.filter(name="warranty").update(required=True)
    client.force_login(helpdesk.alice)
    token = form_token(client)
    with nothing_written():
        response = client.post("/open/", valid(topic, token, cf_warranty=None))
        assert response.context["form"].errors == {"cf_warranty": ["This field is required."]}
        response = client.post("/open/", {"form_token": token, "subject": "s", "message": "m"})
    assert response.context["form"].errors == {"topic": ["This field is required."]}
    assert Ticket.objects.count() == 0


def test_only_public_active_topics_are_offered_and_accepted(
    client, helpdesk, topic, nothing_written
):
    hidden = TopicFactory(name="Internal", is_public=False, department=helpdesk.dept_a)
    off = TopicFactory(name="Retired", is_active=False, department=helpdesk.dept_a)
    client.force_login(helpdesk.alice)
    page = client.get("/open/").content.decode()
    assert ">Hardware</option>" in page
    assert "Internal" not in page and "Retired" not in page
    token = form_token(client)
    with nothing_written():
        for t in (hidden, off):
            response = client.post("/open/", valid(topic, token, topic=t.pk))
            assert response.context["form"].errors == {
                "topic": [f"Select a valid choice. {t.pk} is not one of the available choices."]
            }
    assert Ticket.objects.count() == 0


def test_agent_only_fields_are_neither_shown_nor_settable(client, helpdesk, topic):
    page = client.get(f"/open/?topic={topic.pk}").content.decode()
    assert "Asset tag" in page and "Internal code" not in page
    data = valid(
        topic, form_token(client), name="Gail", email="gail@example.org", cf_internal="HACK"
    )
    client.post("/open/", data)
    ticket = Ticket.objects.get()
    assert not TicketFieldValue.objects.filter(ticket=ticket, field__name="internal").exists()


def test_the_fields_of_another_topic_come_by_htmx_or_by_a_plain_post(
    client, helpdesk, topic, nothing_written
):
    partial = client.get(f"/open/fields/?topic={topic.pk}", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    html = partial.content.decode()
    assert 'name="cf_asset"' in html and "<html" not in html
    assert client.get("/open/fields/?topic=").content.decode().strip() == ""  # "choose one"
    unknown = client.get("/open/fields/?topic=999999", HTTP_HX_REQUEST="true")
    assert unknown.status_code == 400
    assert "Help topic (topic): No such help topic." in unknown.content.decode()
    # without JavaScript: the "show" button re-renders with the fields and keeps the text
    token = form_token(client)
    with nothing_written():
        response = client.post(
            "/open/", {"form_token": token, "topic": topic.pk, "subject": "Kept", "refresh": "1"}
        )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="cf_asset"' in html and 'value="Kept"' in html
    assert response.context["form"].errors == {}
    assert Ticket.objects.count() == 0


def test_attachments_over_the_limits_are_refused_with_nothing_written(
    client, helpdesk, topic, settings, portal_config, nothing_written
):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 10}
    client.force_login(helpdesk.alice)
    token = form_token(client)
    data = valid(topic, token)
    data["attachments"] = [SimpleUploadedFile("big.bin", b"x" * 11)]
    with nothing_written():
        response = client.post("/open/", data)
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "attachments": ["Files over 10 bytes are refused: big.bin."]
    }
    portal_config.max_attachments = 1
    portal_config.save()
    data["attachments"] = [SimpleUploadedFile("a.txt", b"a"), SimpleUploadedFile("b.txt", b"b")]
    with nothing_written():
        response = client.post("/open/", data)
    assert response.status_code == 400
    assert response.context["form"].errors == {"attachments": ["Attach at most 1 files."]}
    assert (Ticket.objects.count(), Attachment.objects.count()) == (0, 0)


def test_a_double_submit_or_a_refresh_opens_one_ticket(client, helpdesk, topic, nothing_written):
    client.force_login(helpdesk.alice)
    data = valid(topic, form_token(client))
    first = client.post("/open/", data)
    with nothing_written():
        second = client.post("/open/", data)  # the second click, or "resend" after a refresh
    ticket = Ticket.objects.get()
    assert first["Location"] == second["Location"] == f"/tickets/{ticket.number}/"
    assert FormSubmission.objects.get().ticket == ticket
    # a new form has a new token and opens a new ticket
    client.post("/open/", valid(topic, form_token(client)))
    assert Ticket.objects.count() == 2


def test_a_guests_double_submit_opens_one_ticket(client, helpdesk, topic, nothing_written):
    data = valid(topic, form_token(client), name="Gail", email="gail@example.org")
    assert client.post("/open/", data)["Location"] == "/open/thanks/"
    with nothing_written():
        assert client.post("/open/", data)["Location"] == "/open/thanks/"
    assert Ticket.objects.count() == 1


def test_a_token_from_another_session_or_forged_is_refused(
    client, helpdesk, topic, nothing_written
):
    from django.test import Client

    other = Client()
    token = form_token(other)
    with nothing_written():
        response = client.post("/open/", valid(topic, token, name="G", email="g@example.org"))
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [
            "This form had expired. Check it and send it again."
        ]
        response = client.post("/open/", valid(topic, "forged", name="G", email="g@example.org"))
    assert response.context["form"].non_field_errors() == [
        "This form had expired. Check it and send it again."
    ]
    assert Ticket.objects.count() == 0


def test_opening_is_limited_per_address(client, helpdesk, topic, portal_config, nothing_written):
    portal_config.tickets_per_ip_per_hour = 2
    portal_config.save()
    client.force_login(helpdesk.alice)
    for _ in range(2):
        assert client.post("/open/", valid(topic, form_token(client))).status_code == 302
    with nothing_written():
        response = client.post("/open/", valid(topic, form_token(client)))
    assert response.status_code == 429
    assert response.context["form"].non_field_errors() == [
        "Too many tickets were opened from your network. Try again in an hour."
    ]
    assert Ticket.objects.count() == 2
    # another address is not limited
    response = client.post("/open/", valid(topic, form_token(client)), REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302
    assert Ticket.objects.count() == 3


def test_banned_senders_get_a_plain_refusal(client, helpdesk, topic, nothing_written):
    BannedEmail.objects.create(address="@spam.test")
    data = valid(topic, form_token(client), name="S", email="s@spam.test")
    with nothing_written():
        response = client.post("/open/", data)
    assert response.context["form"].non_field_errors() == [
        "Sorry, we cannot accept a ticket from this address."
    ]
    assert Ticket.objects.count() == 0
    assert not User.objects.filter(email="s@spam.test").exists()


def test_the_open_ticket_limit_is_shown_as_a_form_error(client, helpdesk, topic, nothing_written):
    from tickets.models import HelpdeskSettings

    config = HelpdeskSettings.load()
    config.max_open_tickets = 1
    config.save()
    client.force_login(helpdesk.alice)
    client.post("/open/", valid(topic, form_token(client)))
    with nothing_written():
        response = client.post("/open/", valid(topic, form_token(client)))
    assert response.context["form"].non_field_errors() == [
        "alice@acme.test already has 1 open tickets, the most allowed."
    ]
    assert Ticket.objects.count() == 1


def test_admins_may_require_signing_in_to_open(client, helpdesk, topic, portal_config):
    portal_config.login_required_to_open = True
    portal_config.save()
    response = client.get("/open/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/open/"
    client.force_login(helpdesk.alice)
    assert client.get("/open/").status_code == 200


def test_without_public_topics_the_default_routing_applies(client, helpdesk):
    client.force_login(helpdesk.alice)
    token = form_token(client)
    assert 'name="topic"' not in client.get("/open/").content.decode()
    client.post("/open/", {"form_token": token, "subject": "Hello", "message": "World"})
    ticket = Ticket.objects.get()
    assert (ticket.topic, ticket.department) == (None, helpdesk.dept_a)


@pytest.mark.parametrize("subject", ["<script>alert(1)</script>"])
def test_what_clients_type_is_escaped(client, helpdesk, subject):
    client.force_login(helpdesk.alice)
    data = {"form_token": form_token(client), "subject": subject, "message": subject}
    client.post("/open/", data)
    ticket = Ticket.objects.get()
    html = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
