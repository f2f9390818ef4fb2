"""The ticket records its client's language when it opens: the client's profile language,
else the mail's Content-Language, else the portal's or the API request's language; agents
see it on the ticket page and in the API."""

import email
from email import policy

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.actors import SYSTEM
from accounts.apikeys import token_create
from accounts.languages import shipped_code
from helpdesk.mail.parsing import content_language
from helpdesk.portal.models import ClientPreferences
from tickets.models import Ticket
from tickets.services.opening import ticket_language

from ..factories import open_ticket


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("fr", "fr"),
        ("fr-FR", "fr"),
        ("FR-ca", "fr"),
        ("pt-BR", "pt-br"),
        ("pt", "pt-br"),
        ("zh-CN", "zh-hans"),
        ("zh-Hans", "zh-hans"),
        ("zh_Hans_CN", "zh-hans"),
        ("zh-TW", ""),  # Traditional Chinese: not what we ship
        ("de-DE, en", "de"),  # the first tag of a list
        ("en-US", "en"),
        ("tlh", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_a_language_tag_names_one_of_our_languages_or_none(tag, code):
    assert shipped_code(tag) == code


def parsed(raw: str):
    return email.message_from_bytes(raw.encode(), policy=policy.default)


def test_content_language_is_read_from_the_message_then_its_first_body_part():
    plain = parsed("Content-Language: pt-BR\r\nContent-Type: text/plain\r\n\r\nOlá\r\n")
    multipart = parsed(
        "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\nContent-Language: ja\r\n\r\nhi\r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--b--\r\n"
    )
    forwarded = parsed(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        "--b\r\nContent-Type: message/rfc822\r\n\r\n"
        "Content-Language: de\r\nContent-Type: text/plain\r\n\r\nHallo\r\n--b--\r\n"
    )

    assert content_language(plain) == "pt-br"
    assert content_language(multipart) == "ja"
    assert content_language(forwarded) == ""  # the forwarded message's, not this one's


def test_the_profile_language_comes_before_the_channels_hint(cast):
    assert ticket_language(cast.alice, "de-DE") == "de"
    ClientPreferences.objects.create(user=cast.alice, language="fr")
    cast.alice.refresh_from_db()

    assert ticket_language(cast.alice, "de-DE") == "fr"
    ticket = open_ticket(cast.alice, department=cast.dept_a, language="de")
    assert ticket.language == "fr"


def test_an_unknown_hint_records_no_language(cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a, language="tlh")

    assert ticket.language == ""


@pytest.fixture
def helpdesk_defaults(cast):
    from tickets.models import HelpdeskSettings

    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    return cast


def test_a_ticket_opened_in_the_portal_records_the_pages_language(client, helpdesk_defaults):
    import re

    client.force_login(helpdesk_defaults.alice)
    client.cookies["django_language"] = "ja"  # the language chooser's cookie
    page = client.get("/open/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)

    client.post("/open/", {"form_token": token, "subject": "Hello", "message": "World"})

    assert Ticket.objects.get().language == "ja"


def test_a_ticket_opened_through_the_api_records_the_requests_language(helpdesk_defaults):
    cast = helpdesk_defaults
    _, secret = token_create(actor=SYSTEM, user=cast.agent_a, name="tests")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = api.post(
        "/api/v1/tickets/",
        {"subject": "Hola", "body": "¿Qué tal?", "requester": cast.bob.pk},
        format="json",
        HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9",
    )

    assert response.status_code == 201, response.content
    assert response.json()["language"] == "es"
    assert Ticket.objects.get().language == "es"


def test_the_api_publishes_the_language_read_only():
    raw = SchemaGenerator().get_schema(request=None, public=True)

    language = raw["components"]["schemas"]["Ticket"]["properties"]["language"]

    assert language["readOnly"] is True and language["type"] == "string"


def test_agents_see_the_language_on_the_ticket_page(client, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a, language="pt-BR")
    client.force_login(cast.agent_a)

    html = client.get(f"/scp/tickets/{ticket.number}/").content.decode()

    assert ticket.language == "pt-br"
    assert (
        '<div class="prop" id="prop-language"><dt>Language</dt><dd><span class="value" '
        'lang="pt-br">Português (Brasil) (pt-br)</span></dd></div>'
    ) in html
