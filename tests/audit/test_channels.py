"""An audit entry for every kind of change, whichever channel makes it: the Django admin
(through the services or the one admin hook), the API, a management command. Each names
the actor, the caller's address, the object and the fields before and after, secrets
masked."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create, token_create
from accounts.models import AgentToken, ApiKey, AuditEntry, DepartmentAccess, Role
from helpdesk.mail.models import Mailbox
from helpdesk.webhooks.models import Subscription
from routing.models import Department, TicketFilter

from ..factories import AgentFactory, DepartmentFactory, role

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"


def entry(action: str) -> AuditEntry:
    """The one entry of `action` (fails when there are none or several)."""
    found = list(AuditEntry.objects.filter(action=action))
    assert len(found) == 1, (action, list(AuditEntry.objects.values_list("action", flat=True)))
    return found[0]


@pytest.fixture
def admin_site(client, cast):
    client.force_login(cast.admin)
    client.defaults["REMOTE_ADDR"] = IP
    return client


def form_data(page, prefix: str | None = None, form=None) -> dict:
    """What the browser would post back unchanged: the form's initial values and the
    inline formsets' management forms."""
    form = form or page.context["adminform"].form
    data: dict = {}
    for name, value in form.initial.items():
        if name not in form.fields or value is None or value is False:
            continue
        key = form.add_prefix(name)
        if value is True:
            data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [getattr(v, "pk", v) for v in value]
        else:
            data[key] = getattr(value, "pk", value)
    for inline in (page.context.get("inline_admin_formsets") or []) if page.context else []:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        for i, sub in enumerate(formset.initial_forms):
            for name in sub.fields:
                value = sub.initial.get(name)
                if value is not None and value is not False:
                    data[sub.add_prefix(name)] = (
                        "on" if value is True else getattr(value, "pk", value)
                    )
            data[sub.add_prefix("id")] = sub.instance.pk
            data.setdefault(sub.add_prefix(formset.fk.name), formset.instance.pk)
            del i
    return data


def assert_by(found: AuditEntry, actor, *, ip: str | None = IP) -> None:
    assert found.actor_user == actor
    assert found.actor_kind == "agent"
    assert found.ip == ip


# --- the Django admin -------------------------------------------------------------------


def test_a_department_added_in_the_admin_is_one_entry_by_its_service(admin_site, cast):
    response = admin_site.post(
        reverse("admin:routing_department_add"),
        {"name": "Sales", "assign_policy": "none", "is_public": "on", "is_active": "on"},
    )

    assert response.status_code == 302
    dept = Department.objects.get(name="Sales")
    found = entry("department.created")
    assert_by(found, cast.admin)
    assert (found.target_id, found.target_repr) == (str(dept.pk), "Sales")
    assert found.changes["name"] == [None, "Sales"]


def test_a_department_changed_and_deleted_in_the_admin(admin_site, cast):
    dept = DepartmentFactory(name="Legal")
    url = reverse("admin:routing_department_change", args=[dept.pk])
    data = form_data(admin_site.get(url))
    data["name"] = "Legal EU"

    assert admin_site.post(url, data).status_code == 302
    assert entry("department.updated").changes == {"name": ["Legal", "Legal EU"]}

    delete = reverse("admin:routing_department_delete", args=[dept.pk])
    assert admin_site.post(delete, {"post": "yes"}).status_code == 302
    gone = entry("department.deleted")
    assert_by(gone, cast.admin)
    assert (gone.target_id, gone.target_repr) == (str(dept.pk), "Legal EU")
    assert gone.changes["name"] == ["Legal EU", None]


def test_a_role_the_admin_saves_without_a_service_gets_its_entry_from_the_hook(admin_site, cast):
    response = admin_site.post(
        reverse("admin:accounts_role_add"),
        {"name": "Night shift", "permissions": ["ticket.reply"], "notes": ""},
    )

    assert response.status_code == 302
    found = entry("role.created")
    assert_by(found, cast.admin)
    assert found.target_id == str(Role.objects.get(name="Night shift").pk)
    assert found.changes["permissions"] == [None, ["ticket.reply"]]


def test_a_filter_deleted_in_bulk_in_the_admin_is_an_entry_each(admin_site, cast):
    first = TicketFilter.objects.create(name="Spam", sort=1)
    second = TicketFilter.objects.create(name="VIP", sort=2)

    response = admin_site.post(
        reverse("admin:routing_ticketfilter_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not TicketFilter.objects.exists()
    deleted = AuditEntry.objects.filter(action="filter.deleted")
    assert sorted(deleted.values_list("target_repr", flat=True)) == ["Spam", "VIP"]


def test_a_mailbox_password_is_masked(admin_site, cast):
    response = admin_site.post(
        reverse("admin:helpdesk_mail_mailbox_add"),
        {
            "name": "Support",
            "address": "support@helpdesk.test",
            "department": cast.dept_a.pk,
            "protocol": "imap",
            "host": "imap.example.test",
            "security": "ssl",
            "username": "support",
            "password": "s3cr3t-Pa55",
            "folder": "INBOX",
            "archive_folder": "Archive",
            "after_import": "move",
            "max_per_fetch": 30,
            "fetch_interval_minutes": 5,
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    found = entry("mailbox.created")
    assert found.target_id == str(Mailbox.objects.get().pk)
    assert found.changes["password"] == [None, "***"]
    assert "s3cr3t" not in str(found.changes)


def test_the_settings_page_writes_an_entry_for_the_settings_row_it_changed(admin_site, cast):
    page = admin_site.get(reverse("admin:helpdesk_settings"))
    data: dict = {}
    for section in page.context["sections"]:
        data.update(form_data(page, form=section["adminform"].form))
    data["retentionsettings-audit_days"] = 90

    response = admin_site.post(reverse("admin:helpdesk_settings"), data)

    assert response.status_code == 302
    found = entry("settings.updated")  # one: the rows that did not change wrote none
    assert_by(found, cast.admin)
    assert found.target_type.model == "retentionsettings"
    assert found.changes == {"audit_days": [365, 90]}


def test_an_api_key_deactivated_in_the_admin_is_revoked(admin_site, cast):
    key, _secret = api_key_create(actor=SYSTEM, name="CRM", allowed_ips=["10.0.0.1"])
    url = reverse("admin:accounts_apikey_change", args=[key.pk])
    data = form_data(admin_site.get(url))
    data.pop("is_active", None)
    data["allowed_ips"] = '["10.0.0.1"]'

    assert admin_site.post(url, data).status_code == 302
    found = entry("apikey.revoked")
    assert_by(found, cast.admin)
    assert found.changes["is_active"] == [True, False]


def test_a_token_revoked_by_the_admin_action(admin_site, cast):
    token, _secret = token_create(actor=SYSTEM, user=cast.agent_a, name="laptop")

    admin_site.post(
        reverse("admin:accounts_agenttoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    found = entry("token.revoked")
    assert_by(found, cast.admin)
    assert found.target_id == str(token.pk)
    assert found.changes["revoked_at"][0] is None


def test_an_agents_role_and_department_access_changed_in_the_admin(admin_site, cast):
    agent = cast.agent_a
    url = reverse("admin:accounts_agent_change", args=[agent.pk])
    page = admin_site.get(url)
    data = form_data(page)
    data["role"] = role("Limited Access").pk
    access = next(
        i.formset
        for i in page.context["inline_admin_formsets"]
        if i.formset.model is DepartmentAccess
    )
    prefix = access.prefix
    data[f"{prefix}-TOTAL_FORMS"] = 1
    data[f"{prefix}-0-department"] = cast.dept_b.pk
    data[f"{prefix}-0-role"] = (
        role("View only").pk
        if Role.objects.filter(name="View only").exists()
        else role("Limited Access").pk
    )
    data[f"{prefix}-0-agent"] = agent.pk

    response = admin_site.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    changes = [e.changes for e in AuditEntry.objects.filter(action="account.access_changed")]
    assert any("role" in c for c in changes)
    assert any("department_accesses" in c for c in changes)
    assert all(
        e.actor_user == cast.admin
        for e in AuditEntry.objects.filter(action="account.access_changed")
    )


def test_a_password_set_on_the_admins_password_page(admin_site, cast):
    url = f"/admin/accounts/client/{cast.alice.pk}/password/"

    response = admin_site.post(
        url,
        {
            "password1": "a-new-long-pass-9",
            "password2": "a-new-long-pass-9",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    found = entry("account.password_changed")
    assert_by(found, cast.admin)
    assert found.target_id == str(cast.alice.pk)
    assert found.changes == {"password": ["***", "***"]}


def test_every_change_page_links_to_the_objects_history(admin_site, cast):
    html = admin_site.get(reverse("admin:accounts_agent_change", args=[cast.agent_a.pk]))

    assert f"/scp/audit/?type=accounts.user&amp;id={cast.agent_a.pk}" in html.content.decode()


# --- the API ----------------------------------------------------------------------------


def _api(user) -> APIClient:
    _, secret = token_create(actor=SYSTEM, user=user, name="api")
    client = APIClient(REMOTE_ADDR=IP)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_department_created_through_the_api(cast):
    response = _api(cast.admin).post("/api/v1/departments/", {"name": "Legal"}, format="json")

    assert response.status_code == 201
    found = entry("department.created")
    assert_by(found, cast.admin)
    assert found.target_id == str(Department.objects.get(name="Legal").pk)


def test_a_token_created_and_revoked_through_the_api(cast):
    api = _api(cast.agent_a)
    AuditEntry.objects.filter(action="token.created")  # the fixture's own token is one
    created = api.post("/api/v1/tokens/", {"name": "script"}, format="json")

    assert created.status_code == 201, created.content
    token = AgentToken.objects.get(name="script")
    made = AuditEntry.objects.get(action="token.created", target_id=str(token.pk))
    assert_by(made, cast.agent_a)
    assert made.changes["token_hash"] == [None, "***"]

    assert api.delete(f"/api/v1/tokens/{token.pk}/").status_code in (200, 204)
    assert_by(entry("token.revoked"), cast.agent_a)


def test_a_webhook_created_through_the_api_masks_its_secret(cast, monkeypatch):
    from helpdesk.webhooks import addresses

    monkeypatch.setattr(addresses.socket, "getaddrinfo", _public_dns)
    response = _api(cast.admin).post(
        "/api/v1/webhooks/",
        {"name": "Chat", "url": "https://hooks.example/x", "events": ["*"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    found = entry("webhook.created")
    assert_by(found, cast.admin)
    assert found.target_id == str(Subscription.objects.get().pk)
    assert found.changes["secret"] == [None, "***"]


def _public_dns(host, *args, **kwargs):
    import socket

    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]


# --- management commands ----------------------------------------------------------------


def test_a_key_made_by_the_command_names_the_command(db, capsys):
    call_command("create_api_key", "--ip", "10.0.0.0/8", "--name", "Mail relay")

    found = entry("apikey.created")
    assert (found.actor_kind, found.actor_label) == ("command", "command create_api_key")
    assert found.target_id == str(ApiKey.objects.get().pk)
    assert found.changes["key_hash"] == [None, "***"]
    assert found.changes["name"] == [None, "Mail relay"]


def test_a_token_made_by_the_command_names_the_command(cast, capsys):
    call_command("create_token", cast.agent_a.username)

    found = entry("token.created")
    assert (found.actor_kind, found.actor_label) == ("command", "command create_token")
    assert found.actor_user is None


# --- accounts ---------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["service", "command"])
def test_accounts_created_by_a_service_or_a_command(cast, channel):
    from accounts import audit
    from accounts.services import user_create

    if channel == "command":
        with audit.acting_as_command("import_osticket"):
            user = user_create(actor=SYSTEM, email="new@example.test", password="x-long-pass-1")
    else:
        user = user_create(actor=cast.admin, email="new@example.test", password="x-long-pass-1")

    found = entry("account.created")
    assert found.target_id == str(user.pk)
    assert found.changes["password"] == [None, "***"]
    expected = ("command", None) if channel == "command" else ("agent", cast.admin)
    assert (found.actor_kind, found.actor_user) == expected


def test_a_new_agent_made_in_the_admin_is_created_then_given_access(admin_site, cast):
    response = admin_site.post(
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
    created, access = entry("account.created"), entry("account.access_changed")
    assert created.target_id == access.target_id
    assert access.changes["is_agent"] == [False, True]
    assert access.changes["department"] == [None, cast.dept_b.pk]


def test_an_agent_made_by_the_factory_in_a_test_writes_nothing(db):
    AgentFactory()
    assert not AuditEntry.objects.exists()


# --- every configuration kind through its service, run by a command -------------------


def _configs():
    from routing import services as routing_services
    from routing.models import SLA, HelpTopic, Team
    from tickets.models import Priority
    from tickets.services import configuration as ticket_config

    return {
        "department": (
            routing_services.department_save,
            routing_services.department_delete,
            lambda: Department(name="Ops"),
        ),
        "team": (
            routing_services.team_save,
            routing_services.team_delete,
            lambda: Team(name="Blue"),
        ),
        "topic": (
            routing_services.topic_save,
            routing_services.topic_delete,
            lambda: HelpTopic(name="Printers"),
        ),
        "sla": (
            routing_services.sla_save,
            routing_services.sla_delete,
            lambda: SLA(name="Gold", grace_hours=4),
        ),
        "priority": (
            ticket_config.priority_save,
            ticket_config.priority_delete,
            lambda: Priority(name="Urgent-ish", urgency=2),
        ),
    }


@pytest.mark.parametrize("kind", ["department", "team", "topic", "sla", "priority"])
def test_each_configuration_kind_is_created_updated_and_deleted_with_entries(db, kind):
    from accounts import audit

    save, delete, new = _configs()[kind]
    with audit.acting_as_command("import_osticket"), audit.from_address("192.0.2.1"):
        row = save(actor=SYSTEM, instance=new())
        save(actor=SYSTEM, instance=row, data={"name": "Renamed"})
        save(actor=SYSTEM, instance=row, data={"name": "Renamed"})  # no change: no entry
        pk = row.pk
        delete(actor=SYSTEM, instance=row)

    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.action for e in entries] == [f"{kind}.created", f"{kind}.updated", f"{kind}.deleted"]
    assert {(e.actor_kind, e.actor_label, e.ip, e.target_id) for e in entries} == {
        ("command", "command import_osticket", "192.0.2.1", str(pk))
    }
    assert entries[1].changes["name"][1] == "Renamed"
    assert entries[2].changes["name"] == ["Renamed", None]
