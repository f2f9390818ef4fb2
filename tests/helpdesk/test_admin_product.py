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
    assert anchors == [
        "helpdesksettings",
        "mailsettings",
        "panelsettings",
        "portalsettings",
        "retentionsettings",
    ]
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


# --- webhooks, filter actions, business hours -------------------------------------------


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(admin_client, monkeypatch):
    from django.contrib.messages import get_messages

    from helpdesk.webhooks import addresses
    from helpdesk.webhooks.models import Subscription

    monkeypatch.setattr(addresses.socket, "getaddrinfo", _public_dns)
    url = reverse("admin:helpdesk_webhooks_subscription_add")
    assert 'name="secret"' not in admin_client.get(url).content.decode()

    response = admin_client.post(
        url,
        {"name": "Chat", "url": "https://hooks.example/x", "events": '["*"]', "is_active": "on"},
    )

    assert response.status_code == 302
    created = Subscription.objects.get()
    assert (created.name, created.events, len(created.secret)) == ("Chat", ["*"], 64)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"The signing secret of this webhook, shown once: {created.secret}" in shown


def _public_dns(host, *args, **kwargs):
    import socket

    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]


def test_a_filter_action_keeps_only_the_field_its_kind_uses(db):
    import json

    from routing.admin import FilterActionForm
    from tickets.models import Priority

    priority = Priority.objects.first()
    form = FilterActionForm(
        {"kind": "priority", "sort": "0", "priority": priority.pk, "value": "stale reason"}
    )

    assert form.is_valid(), form.errors
    assert (form.cleaned_data["priority"], form.cleaned_data["value"]) == (priority, "")
    shown = json.loads(form.fields["kind"].widget.attrs["data-action-fields"])
    assert shown["priority"] == ["priority"]
    assert shown["reject"] == ["value"]
    assert shown["no_autoresponse"] == []


def test_the_filter_form_loads_the_script_that_hides_unused_fields(admin_client):
    html = admin_client.get(reverse("admin:routing_ticketfilter_add")).content.decode()

    assert "/static/js/admin_filter_actions.js" in html
    assert "data-action-fields=" in html


def test_business_hours_are_a_week_grid_one_row_per_weekday(admin_client):
    from routing.models import Schedule

    url = reverse("admin:routing_schedule_add")
    formset = admin_client.get(url).context["inline_admin_formsets"][0].formset
    assert [f.initial.get("weekday") for f in formset.forms] == [0, 1, 2, 3, 4, 5, 6]

    data = {"name": "Office", "timezone": "UTC"}
    prefix = formset.prefix
    data.update({f"{prefix}-TOTAL_FORMS": "7", f"{prefix}-INITIAL_FORMS": "0"})
    for day in range(7):
        data[f"{prefix}-{day}-weekday"] = str(day)
        if day < 5:
            data[f"{prefix}-{day}-start_time"] = "09:00"
            data[f"{prefix}-{day}-end_time"] = "17:00"
    data.update({"holidays-TOTAL_FORMS": "0", "holidays-INITIAL_FORMS": "0"})

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    office = Schedule.objects.get(name="Office")
    assert sorted(office.hours.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]
    change = admin_client.get(reverse("admin:routing_schedule_change", args=[office.pk]))
    rows = change.context["inline_admin_formsets"][0].formset.forms
    assert [f.initial.get("weekday") for f in rows] == [0, 1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("label", "field", "expected"),
    [
        ("routing.Department", "sla", "SLA"),
        ("helpdesk_mail.EmailTemplate", "body_html", "HTML body"),
        ("threads.ThreadEntry", "body", "Body"),
        ("threads.ThreadEntry", "message_id", "Message-ID"),
        ("helpdesk_kb.CannedResponse", "body_html", "HTML body"),
        ("helpdesk_panel.PanelSettings", "require_2fa", "Require two-factor sign-in"),
        ("helpdesk_webhooks.Subscription", "url", "URL"),
        ("tickets.HelpdeskSettings", "default_sla", "Default SLA"),
    ],
)
def test_fields_have_plain_labels(label, field, expected):
    from django.apps import apps
    from django.utils.text import capfirst

    model = apps.get_model(label)

    assert capfirst(model._meta.get_field(field).verbose_name) == expected


def test_a_form_shows_the_plain_labels(admin_client):
    html = admin_client.get(reverse("admin:routing_department_add")).content.decode()

    assert '<label for="id_sla">SLA:</label>' in html
    assert "Sla:" not in html


def _rendered_weekdays(html: str, prefix: str) -> list[str]:
    """The weekday chosen in each row of the grid, in the order of the page (the
    "add another" template row left out)."""
    import re

    rows = re.findall(
        rf'<select name="{prefix}-(\d+)-weekday"[^>]*>(.*?)</select>', html, flags=re.S
    )
    days = []
    for _index, options in rows:
        chosen = re.search(r'<option value="(\d)" selected>([^<]*)</option>', options)
        days.append(chosen.group(2) if chosen else "")
    return days


def test_the_week_grid_lists_open_and_closed_days_monday_to_sunday(admin_client):
    import datetime as dt

    from routing.models import Schedule, ScheduleHours

    office = Schedule.objects.create(name="Odd days", timezone="UTC")
    nine, five = dt.time(9), dt.time(17)
    for day in (6, 3, 1):  # Sunday, Thursday, Tuesday open; a second interval on Thursday
        ScheduleHours.objects.create(schedule=office, weekday=day, start_time=nine, end_time=five)
    ScheduleHours.objects.create(
        schedule=office, weekday=3, start_time=dt.time(18), end_time=dt.time(20)
    )

    response = admin_client.get(reverse("admin:routing_schedule_change", args=[office.pk]))
    prefix = response.context["inline_admin_formsets"][0].formset.prefix
    days = _rendered_weekdays(response.content.decode(), prefix)

    assert days == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
