"""Translated content with the original as fallback: for every translatable model, the
reader's language, else its base language, else the original; what may be stored (known
languages and fields, HTML sanitised as the original); the admin's Translations section;
the portal and the panel showing it, with no query per row."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.actors import SYSTEM
from helpdesk.kb import faq_services
from helpdesk.kb.models import CannedResponse, Faq, FaqCategory
from helpdesk.portal.models import ClientPreferences, PortalSettings
from helpdesk.translations import (
    TRANSLATABLE,
    clean_translations,
    topic_name,
    translated,
    translated_options,
)
from routing.models import HelpTopic
from tickets.models import CustomField, CustomForm, HelpdeskSettings, TicketStatus

from ..factories import TopicFactory, open_ticket

# model, {field: original} of each translatable model (every field TRANSLATABLE names)
MODELS = [
    (TicketStatus, {"name": "Waiting", "client_name": "In progress"}),
    (CustomField, {"label": "Asset tag", "help_text": "On the back", "choices": "Red\nBlue"}),
    (HelpTopic, {"name": "Billing"}),
    (CannedResponse, {"title": "Thanks", "body_html": "<p>Thank you.</p>"}),
    (FaqCategory, {"name": "Printers", "description": "<p>All about printers.</p>"}),
    (Faq, {"question": "How to print?", "answer_html": "<p>Press print.</p>"}),
    (PortalSettings, {"welcome_text": "Welcome!"}),
]


def test_every_translatable_model_is_covered_here():
    assert {m._meta.label_lower for m, _ in MODELS} == set(TRANSLATABLE)
    for model, originals in MODELS:
        assert set(originals) == set(TRANSLATABLE[model._meta.label_lower])


@pytest.mark.parametrize(("model", "originals"), MODELS, ids=lambda v: getattr(v, "__name__", ""))
def test_the_readers_language_then_its_base_then_the_original(model, originals):
    row = model(
        **originals,
        translations={
            "pt-br": {f: f"{v} (pt-br)" for f, v in originals.items()},
            "fr": {f: f"{v} (fr)" for f, v in originals.items()},
            "de": dict.fromkeys(originals, ""),  # left empty: the original
        },
    )

    for field, original in originals.items():
        assert translated(row, field, "pt-br") == f"{original} (pt-br)"  # exact
        assert translated(row, field, "fr-ca") == f"{original} (fr)"  # its base language
        assert translated(row, field, "de") == original  # empty
        assert translated(row, field, "ja") == original  # none
        with translation.override("fr"):
            assert translated(row, field) == f"{original} (fr)"  # the active language


def test_rows_saved_without_translations_show_the_original(db):
    status = TicketStatus.objects.get(name="Open")

    assert status.translations == {}
    assert translated(status, "name", "fr") == "Open"


def test_a_choice_fields_options_keep_their_stored_values():
    field = CustomField(
        kind="choice", choices="Red\nGreen\nBlue", translations={"fr": {"choices": "Rouge\n\nBleu"}}
    )

    assert translated_options(field, "fr") == [
        ("Red", "Rouge"),
        ("Green", "Green"),
        ("Blue", "Bleu"),
    ]
    assert translated_options(field, "de") == [("Red", "Red"), ("Green", "Green"), ("Blue", "Blue")]


def test_a_topics_full_name_is_translated_part_by_part(db):
    parent = HelpTopic.objects.create(name="Hardware", translations={"fr": {"name": "Matériel"}})
    child = HelpTopic.objects.create(name="Printers", parent=parent)

    assert topic_name(child, "fr") == "Matériel / Printers"
    assert topic_name(child, "en") == "Hardware / Printers"


# --- what may be stored -------------------------------------------------------------------


def test_what_is_stored_is_checked_and_html_sanitised_like_the_original():
    stored = clean_translations(
        Faq,
        {
            "fr": {
                "question": "  Comment imprimer ?  ",
                "answer_html": '<p onclick="x()">Appuyez.</p><script>alert(1)</script>',
            },
            "de": {"question": ""},  # empty: dropped
        },
    )

    assert stored == {"fr": {"question": "Comment imprimer ?", "answer_html": "<p>Appuyez.</p>"}}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"xx": {"question": "?"}}, "Unknown language 'xx': use one of en, de, fr,"),
        ({"fr": {"notes": "?"}}, "Unknown field 'notes' in fr: translatable are question, "),
        ({"fr": {"question": 42}}, "question in fr is not text."),
        ({"fr": {"question": "x" * 256}}, "question in fr is longer than 255 characters."),
        ({"fr": "Comment ?"}, "The translations in fr are not an object."),
        (["fr"], 'Translations are a JSON object: {"fr": {"name": "..."}}.'),
    ],
)
def test_bad_translations_are_refused_with_the_reason(value, message):
    with pytest.raises(ValidationError) as refused:
        clean_translations(Faq, value)

    assert refused.value.messages[0].startswith(message)


# --- the admin ----------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


def category_form(category, **extra):
    return {
        "name": category.name,
        "parent": "",
        "is_public": "on",
        "description": category.description,
        "notes": "",
        "sort": "0",
        **extra,
    }


def test_the_admin_edits_translations_in_their_own_section(admin_client):
    category = FaqCategory.objects.create(name="Printers", translations={"de": {"name": "Drucker"}})
    url = reverse("admin:helpdesk_kb_faqcategory_change", args=[category.pk])

    page = admin_client.get(url)
    form = page.context["adminform"].form
    assert form["tr__de__name"].initial == "Drucker"
    html = page.content.decode()
    assert "Translations" in html and 'name="tr__ja__description"' in html
    response = admin_client.post(
        url,
        category_form(
            category,
            tr__fr__name="Imprimantes",
            tr__fr__description="<p>Tout <b>sur</b> les imprimantes<script>x</script></p>",
        ),
    )

    assert response.status_code == 302
    category.refresh_from_db()
    assert category.translations == {
        "fr": {"name": "Imprimantes", "description": "<p>Tout <b>sur</b> les imprimantes</p>"}
    }  # the German one was cleared in the form, so it goes


def test_pasted_json_is_merged_over_the_inputs(admin_client):
    category = FaqCategory.objects.create(name="Printers")
    url = reverse("admin:helpdesk_kb_faqcategory_change", args=[category.pk])

    admin_client.post(
        url,
        category_form(
            category,
            tr__fr__name="Imprimantes",
            translations_json=json.dumps({"ja": {"name": "プリンター"}}),
        ),
    )

    category.refresh_from_db()
    assert category.translations == {"fr": {"name": "Imprimantes"}, "ja": {"name": "プリンター"}}


@pytest.mark.parametrize(
    ("pasted", "error"),
    [
        ({"xx": {"name": "?"}}, "Unknown language &#x27;xx&#x27;"),
        ({"fr": {"notes": "?"}}, "Unknown field &#x27;notes&#x27; in fr"),
        ("not json", "Not valid JSON"),
    ],
)
def test_the_admin_refuses_an_unknown_language_or_field_and_saves_nothing(
    admin_client, pasted, error
):
    category = FaqCategory.objects.create(name="Printers", translations={"de": {"name": "Drucker"}})
    url = reverse("admin:helpdesk_kb_faqcategory_change", args=[category.pk])
    text = pasted if isinstance(pasted, str) else json.dumps(pasted)

    response = admin_client.post(
        url, category_form(category, name="Renamed", translations_json=text, tr__de__name="Neu")
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    category.refresh_from_db()
    assert (category.name, category.translations) == ("Printers", {"de": {"name": "Drucker"}})


def test_statuses_saved_through_their_service_keep_their_translations(admin_client):
    status = TicketStatus.objects.get(name="Open")
    url = reverse("admin:tickets_ticketstatus_change", args=[status.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not k.startswith("tr__")}

    response = admin_client.post(
        url, {**data, "allow_reopen": "on", "tr__de__name": "Offen", "tr__de__client_name": ""}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    status.refresh_from_db()
    assert status.translations == {"de": {"name": "Offen"}}


def test_a_custom_field_has_its_own_admin_page_with_translations(admin_client):
    form = CustomForm.objects.create(name="Device")
    field = CustomField.objects.create(
        form=form, name="model", label="Model", kind="choice", choices="X1\nT14"
    )
    url = reverse("admin:tickets_customfield_change", args=[field.pk])

    page = admin_client.get(url)

    assert page.status_code == 200
    assert 'name="tr__fr__choices"' in page.content.decode()


def test_the_portal_settings_page_edits_the_welcome_text_and_its_translations(admin_client):
    page = admin_client.get(reverse("admin:helpdesk_settings"))

    html = page.content.decode()
    assert 'name="portalsettings-welcome_text"' in html
    assert 'name="portalsettings-tr__fr__welcome_text"' in html


# --- shown to readers ---------------------------------------------------------------------


@pytest.fixture
def french_client(client, cast):
    ClientPreferences.objects.create(user=cast.alice, language="fr")
    client.force_login(cast.alice)
    return client


def test_the_portal_shows_the_kb_and_the_welcome_in_the_clients_language(french_client, cast):
    config = PortalSettings.load()
    config.welcome_text = "Welcome to Acme support."
    config.translations = {"fr": {"welcome_text": "Bienvenue au support d'Acme."}}
    config.save()
    category = FaqCategory.objects.create(
        name="Printers",
        description="<p>All about printers.</p>",
        translations={"fr": {"name": "Imprimantes", "description": "<p>Tout sur elles.</p>"}},
    )
    faq = faq_services.faq_create(  # through the service: the search index is kept
        actor=SYSTEM,
        category=category,
        question="How to print?",
        answer="<p>Press print.</p>",
        is_published=True,
        is_featured=True,
    )
    Faq.objects.filter(pk=faq.pk).update(translations={"fr": {"question": "Comment imprimer ?"}})

    home = french_client.get("/").content.decode()
    kb_category = french_client.get(f"/kb/category/{category.pk}/").content.decode()
    kb_faq = french_client.get(f"/kb/faq/{faq.pk}/").content.decode()
    results = french_client.get("/kb/search/", {"q": "print"}).content.decode()

    assert "Bienvenue au support d&#x27;Acme." in home
    assert "Imprimantes" in home and "Comment imprimer ?" in home
    assert "<h1>Imprimantes</h1>" in kb_category and "<p>Tout sur elles.</p>" in kb_category
    assert "<h1>Comment imprimer ?</h1>" in kb_faq
    assert "<p>Press print.</p>" in kb_faq  # the answer has no French: the original
    assert "Comment imprimer ?" in results


def test_the_kb_index_costs_no_query_per_translated_row(client, db):
    def queries(count):
        Faq.objects.all().delete()
        FaqCategory.objects.all().delete()
        for n in range(count):
            category = FaqCategory.objects.create(
                name=f"Category {n}", translations={"fr": {"name": f"Catégorie {n}"}}
            )
            Faq.objects.create(
                category=category,
                question=f"Question {n}?",
                answer_html="<p>A.</p>",
                is_published=True,
                translations={"fr": {"question": f"Question {n} ?"}},
            )
        client.cookies["django_language"] = "fr"
        client.get("/kb/")  # settings rows and caches loaded once
        with CaptureQueriesContext(connection) as seen:
            html = client.get("/kb/").content.decode()
        assert f"Catégorie {count - 1}" in html
        return len(seen)

    assert queries(2) == queries(8)


def test_the_topic_chooser_and_custom_fields_are_in_the_clients_language(french_client, cast):
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    topic = TopicFactory(
        name="Hardware", department=cast.dept_a, translations={"fr": {"name": "Matériel"}}
    )
    form = CustomForm.objects.create(name="Device")
    form.topics.add(topic)
    CustomField.objects.create(
        form=form,
        name="model",
        label="Model",
        kind="choice",
        choices="X1\nT14",
        translations={"fr": {"label": "Modèle", "choices": "X1 (ancien)\nT14 (nouveau)"}},
    )

    chooser = french_client.get("/open/").content.decode()
    fields = french_client.get("/open/", {"topic": topic.pk}).content.decode()

    assert f'<option value="{topic.pk}">Matériel</option>' in chooser
    assert "Modèle" in fields
    assert '<option value="T14">T14 (nouveau)</option>' in fields  # the stored value stays


def test_agents_see_status_names_in_their_language(client, cast):
    from helpdesk.panel.models import AgentPreferences

    TicketStatus.objects.filter(name="Open").update(translations={"de": {"name": "Offen"}})
    AgentPreferences.objects.create(agent=cast.agent_a, language="de")
    ticket = open_ticket(cast.alice, department=cast.dept_a)
    client.force_login(cast.agent_a)

    page = client.get(f"/scp/tickets/{ticket.number}/").content.decode()
    queue = client.get("/scp/").content.decode()

    assert '<span class="badge state-open">Offen</span>' in page
    assert ">Offen<" in queue


def test_the_canned_picker_is_in_the_agents_language_and_inserts_the_clients(client, cast):
    from helpdesk.panel.models import AgentPreferences

    canned = CannedResponse.objects.create(
        title="Thanks",
        body_html="<p>Thank you, ticket %{ticket.number}.</p>",
        translations={
            "de": {"title": "Danke"},
            "fr": {"title": "Merci", "body_html": "<p>Merci, ticket %{ticket.number}.</p>"},
        },
    )
    AgentPreferences.objects.create(agent=cast.agent_a, language="de")
    ticket = open_ticket(cast.alice, department=cast.dept_a, language="fr")
    client.force_login(cast.agent_a)

    page = client.get(f"/scp/tickets/{ticket.number}/").content.decode()
    inserted = client.get(f"/scp/tickets/{ticket.number}/canned/{canned.pk}/")

    assert f'<option value="{canned.pk}">Danke</option>' in page
    assert inserted.content.decode() == f"Merci, ticket {ticket.number}."
