"""Which language a page is in: the signed-in agent's or client's choice, else the
chooser's cookie, else the browser's Accept-Language, else LANGUAGE_CODE; only the
languages we ship are offered or taken; Arabic pages run right to left."""

import re

import pytest
from django.conf import settings
from django.test import Client

from helpdesk.panel.models import AgentPreferences
from helpdesk.portal.models import ClientPreferences

SHIPPED = [code for code, _name in settings.LANGUAGES]


def html_lang(response) -> tuple[str, str]:
    found = re.search(r'<html lang="([^"]+)" dir="(ltr|rtl)">', response.content.decode())
    assert found, response.content[:300]
    return found.group(1), found.group(2)


@pytest.mark.django_db
def test_the_browser_language_then_the_cookie():
    client = Client()
    assert html_lang(client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")) == ("de", "ltr")
    assert html_lang(client.get("/", HTTP_ACCEPT_LANGUAGE="pt-BR")) == ("pt-br", "ltr")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    assert html_lang(client.get("/", HTTP_ACCEPT_LANGUAGE="de")) == ("ja", "ltr")


@pytest.mark.django_db
def test_a_language_we_do_not_ship_falls_back_to_the_default(settings):
    assert html_lang(Client().get("/", HTTP_ACCEPT_LANGUAGE="sv-SE,sv")) == ("en", "ltr")
    settings.LANGUAGE_CODE = "fr"
    assert html_lang(Client().get("/", HTTP_ACCEPT_LANGUAGE="sv")) == ("fr", "ltr")
    assert html_lang(Client().get("/")) == ("fr", "ltr")


def test_a_signed_in_clients_choice_comes_before_the_cookie(cast):
    ClientPreferences.objects.create(user=cast.alice, language="ru")
    client = Client()
    client.force_login(cast.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    assert html_lang(client.get("/", HTTP_ACCEPT_LANGUAGE="de")) == ("ru", "ltr")


def test_a_signed_in_agents_choice_comes_before_the_cookie(cast):
    AgentPreferences.objects.create(agent=cast.agent_a, language="tr")
    client = Client()
    client.force_login(cast.agent_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    assert html_lang(client.get("/scp/", follow=True, HTTP_ACCEPT_LANGUAGE="de")) == ("tr", "ltr")


def test_without_a_choice_the_agent_gets_the_cookie_then_the_browser(cast):
    client = Client()
    client.force_login(cast.agent_a)
    assert html_lang(client.get("/scp/", follow=True, HTTP_ACCEPT_LANGUAGE="nl")) == ("nl", "ltr")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    assert html_lang(client.get("/scp/", follow=True, HTTP_ACCEPT_LANGUAGE="nl")) == ("pl", "ltr")


@pytest.mark.django_db
def test_arabic_pages_run_right_to_left():
    assert html_lang(Client().get("/", HTTP_ACCEPT_LANGUAGE="ar")) == ("ar", "rtl")
    assert html_lang(Client().get("/scp/login/", HTTP_ACCEPT_LANGUAGE="ar")) == ("ar", "rtl")


@pytest.mark.django_db
def test_the_portal_chooser_offers_the_shipped_languages_only():
    page = Client().get("/").content.decode()
    chooser = re.search(r'<select id="language-choice".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', chooser) == SHIPPED
    assert len(SHIPPED) == 13


def test_the_agent_profile_offers_the_shipped_languages_only(cast):
    from helpdesk.panel.forms import ProfileForm

    codes = [code for code, _name in ProfileForm.base_fields["language"].choices]
    assert codes == ["", *SHIPPED]


@pytest.mark.django_db
def test_choosing_sets_the_cookie_and_goes_back():
    client = Client()
    response = client.post("/language/", {"language": "it", "next": "/kb/"})
    assert (response.status_code, response["Location"]) == (302, "/kb/")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    assert html_lang(client.get("/")) == ("it", "ltr")


@pytest.mark.django_db
def test_the_chooser_never_sends_elsewhere():
    response = Client().post("/language/", {"language": "it", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_signed_in_clients_choice_is_saved_in_their_profile(cast):
    client = Client()
    client.force_login(cast.alice)
    client.post("/language/", {"language": "es", "next": "/"})
    assert ClientPreferences.objects.get(user=cast.alice).language == "es"
    assert html_lang(client.get("/", HTTP_ACCEPT_LANGUAGE="de")) == ("es", "ltr")


def test_an_unknown_language_is_refused_and_changes_nothing(cast, nothing_written):
    client = Client()
    client.force_login(cast.alice)
    with nothing_written():
        response = client.post("/language/", {"language": "xx", "next": "/"})
    assert response.status_code == 400
    assert "Choose a language from the list." in response.content.decode()
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert not ClientPreferences.objects.filter(user=cast.alice).exists()


@pytest.mark.django_db
def test_pages_are_translated():
    """A string of the portal's header comes out in the catalogue's translation."""
    from django.utils import translation

    with translation.override("de"):
        german = translation.gettext("Open a ticket")
    assert german != "Open a ticket"
    page = Client().get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert german in page


def test_a_default_language_we_do_not_ship_is_refused_at_start(settings):
    from django.core.checks.translation import check_language_settings_consistent

    settings.LANGUAGE_CODE = "sv"
    assert [e.id for e in check_language_settings_consistent(None)] == ["translation.E004"]
    settings.LANGUAGE_CODE = "pt-br"
    assert check_language_settings_consistent(None) == []


@pytest.mark.django_db
def test_the_javascript_catalogue_is_in_the_pages_language():
    german = Client().get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '"Bold": "Fett"' in german
    english = Client().get("/jsi18n/").content.decode()
    assert '"Bold"' not in english  # no catalogue: the source's words
