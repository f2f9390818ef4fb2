"""The Django admin reads like a product: sections grouped by task with plain labels,
one "Helpdesk settings" page for every one-row settings model, links to the panel."""

import pytest
from django.urls import reverse

from helpdesk.mail.models import MailSettings
from helpdesk.panel.models import PanelSettings
from tickets.models import HelpdeskSettings

GROUPS = [
    "Tickets and routing",
    "People",
    "Email",
    "Knowledge base",
    "Integrations",
    "System",
]


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


def _groups(response) -> dict[str, list[str]]:
    return {
        str(g["name"]): [str(m["name"]) for m in g["models"]] for g in response.context["app_list"]
    }


def test_the_index_lists_the_sections_by_task(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    groups = _groups(response)
    assert list(groups) == GROUPS
    assert groups["Tickets and routing"][:4] == [
        "Departments",
        "Help topics",
        "Service level agreements",
        "Business hours",
    ]
    assert "Email templates" in groups["Email"] and "Email template sets" in groups["Email"]
    assert "Webhooks" in groups["Integrations"]
    assert groups["People"][:2] == ["Agents", "Clients"]
    assert "Users" not in groups["People"]
    assert groups["System"][0] == "Helpdesk settings"
    html = response.content.decode()
    for name in GROUPS:
        assert f'class="section" title="Models in the {name} application">{name}</a>' in html


def test_the_one_row_settings_are_not_listed_as_tables(admin_client):
    groups = _groups(admin_client.get(reverse("admin:index")))
    names = [name for models in groups.values() for name in models]

    for table in ("Helpdesk settings row", "Mail settings", "Panel settings", "Portal settings"):
        assert table not in names
    assert names.count("Helpdesk settings") == 1


def test_every_registered_model_is_in_a_group(admin_client):
    from django.contrib import admin

    from helpdesk.adminsite import SETTINGS

    response = admin_client.get(reverse("admin:index"))
    listed = {
        m["model"]._meta.label
        for g in response.context["app_list"]
        for m in g["models"]
        if m["model"]
    }
    registered = {m._meta.label for m in admin.site._registry} - set(SETTINGS)
    # everyone at once (agents and clients) is not listed: Agents and Clients are
    assert registered - listed == {"accounts.User"}


def test_the_admin_links_to_the_panel(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert f'<a href="{reverse("panel:dashboard")}" id="panel-link">Staff panel</a>' in html


# --- the settings page ------------------------------------------------------------------


def _post_data(response) -> dict:
    """What the settings page's forms show, as a browser would post it back."""
    data = {}
    for section in response.context["sections"]:
        form = section["adminform"].form
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(value, bool) or value is None:
                if value:
                    data[key] = "on"
                continue
            data[key] = value
    return data


def test_the_settings_page_has_a_section_per_settings_row_and_no_add(admin_client):
    response = admin_client.get(reverse("admin:helpdesk_settings"))

    assert response.status_code == 200
    anchors = [s["anchor"] for s in response.context["sections"]]
    assert anchors == ["helpdesksettings", "mailsettings", "panelsettings", "portalsettings"]
    html = response.content.decode()
    assert 'name="panelsettings-require_2fa"' in html  # the 2FA switch, no "add a row"
    assert "Ticket numbers" in html
    for url in (
        reverse("admin:helpdesk_mail_mailsettings_changelist"),
        reverse("admin:helpdesk_panel_panelsettings_changelist"),
    ):
        redirected = admin_client.get(url)
        assert redirected.status_code == 302
        assert redirected["Location"].startswith(reverse("admin:helpdesk_settings") + "#")
    assert admin_client.get(reverse("admin:helpdesk_panel_panelsettings_add")).status_code == 403


def test_the_settings_page_saves_every_section_together(admin_client):
    url = reverse("admin:helpdesk_settings")
    data = _post_data(admin_client.get(url))
    data["helpdesksettings-lock_minutes"] = "7"
    data["mailsettings-reply_separator"] = "-- write above --"
    data["panelsettings-require_2fa"] = "on"

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["sections"][0]["adminform"].form.errors
    assert HelpdeskSettings.load().lock_minutes == 7
    assert MailSettings.load().reply_separator == "-- write above --"
    assert PanelSettings.load().require_2fa is True


def test_one_wrong_section_saves_nothing(admin_client, nothing_written):
    url = reverse("admin:helpdesk_settings")
    data = _post_data(admin_client.get(url))
    before = (HelpdeskSettings.load().lock_minutes, MailSettings.load().reply_separator)
    data["helpdesksettings-lock_minutes"] = "9"
    data["mailsettings-autoresponses_per_hour"] = "-3"

    with nothing_written():
        response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["has_errors"] is True
    assert (HelpdeskSettings.load().lock_minutes, MailSettings.load().reply_separator) == before


def test_the_settings_page_is_for_admins_only(client, cast):
    client.force_login(cast.agent_a)

    response = client.get(reverse("admin:helpdesk_settings"))

    assert response.status_code == 302
    assert "login" in response["Location"]


# --- agents and clients on their own forms ----------------------------------------------


def _fields(response) -> set[str]:
    return set(response.context["adminform"].form.fields)


def test_agents_and_clients_are_listed_and_edited_apart(admin_client, cast):
    agents = admin_client.get(reverse("admin:accounts_agent_changelist"))
    clients = admin_client.get(reverse("admin:accounts_client_changelist"))

    assert cast.agent_a in agents.context["cl"].result_list
    assert cast.alice not in agents.context["cl"].result_list
    assert cast.alice in clients.context["cl"].result_list
    assert cast.agent_a not in clients.context["cl"].result_list

    agent_form = _fields(
        admin_client.get(reverse("admin:accounts_agent_change", args=[cast.agent_a.pk]))
    )
    client_form = _fields(
        admin_client.get(reverse("admin:accounts_client_change", args=[cast.alice.pk]))
    )
    assert {"department", "role", "permissions", "signature"} <= agent_form
    assert not {"organization", "phone"} & agent_form
    assert {"organization", "phone", "notes"} <= client_form
    assert not {"department", "role", "permissions", "is_helpdesk_admin"} & client_form


def test_a_client_is_not_found_on_the_agent_form(admin_client, cast):
    response = admin_client.get(reverse("admin:accounts_agent_change", args=[cast.alice.pk]))

    assert response.status_code == 302  # Django's "does not exist" redirect to the index


def test_an_agent_added_on_the_agent_form_is_an_agent(admin_client, cast):
    from accounts.models import User

    response = admin_client.post(
        reverse("admin:accounts_agent_add"),
        {
            "email": "new.agent@helpdesk.test",
            "username": "newagent",
            "name": "New Agent",
            "department": cast.dept_b.pk,
            "role": cast.agent_a.role_id,
            "password1": "a-long-password-1234",
            "password2": "a-long-password-1234",
        },
    )

    assert response.status_code == 302
    created = User.objects.get(email="new.agent@helpdesk.test")
    assert (created.is_agent, created.department) == (True, cast.dept_b)


def test_an_agent_without_a_department_is_refused_and_nothing_is_written(
    admin_client, cast, nothing_written
):
    with nothing_written():
        response = admin_client.post(
            reverse("admin:accounts_agent_add"),
            {
                "email": "x@helpdesk.test",
                "username": "x",
                "name": "X",
                "role": cast.agent_a.role_id,
            },
        )

    assert response.status_code == 200
    assert "department" in response.context["adminform"].form.errors


def test_the_client_form_saves_contact_details_through_the_service(admin_client, cast):
    url = reverse("admin:accounts_client_change", args=[cast.alice.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    data.update(phone="+1 555 0100", organization=cast.acme.pk, is_active="on")

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    cast.alice.refresh_from_db()
    assert cast.alice.phone == "+1 555 0100"


def test_the_panel_links_to_the_admin_for_admins_only(client, cast):
    link = f'<a href="{reverse("admin:index")}" id="admin-link">Admin</a>'

    client.force_login(cast.admin)
    as_admin = client.get(reverse("panel:dashboard")).content.decode()
    client.force_login(cast.agent_a)
    as_agent = client.get(reverse("panel:dashboard")).content.decode()

    assert link in as_admin
    assert 'id="admin-link"' not in as_agent
