"""Django admin: every model is there, with search and filters, for helpdesk admins."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from tickets.models import State, Ticket

OUR_APPS = {"accounts", "routing", "threads", "tickets"}


@pytest.fixture
def admin_client_demo(client, db):
    call_command("seed_demo")
    client.force_login(User.objects.get(username="admin"))
    return client


def _our_models():
    return [m for m in admin.site._registry if m._meta.app_label in OUR_APPS]


def test_every_model_of_ours_is_registered():
    from django.apps import apps

    models = {m for app in OUR_APPS for m in apps.get_app_config(app).get_models()}
    skipped = {
        "Thread",
        "TicketLink",
        "TicketSequence",
        "UserEmail",
        "OrganizationDomain",
        "DepartmentAccess",
        "Attachment",
        "ScheduleHours",
        "Holiday",
        "FilterRule",
        "FilterAction",
        "AssignmentCursor",
        "CustomField",
        "TicketFieldValue",
        "TaskFieldValue",
        "UserFieldValue",  # edited on the people pages, the portal profile, the API
        "OrganizationFieldValue",
        "EntryRevision",
        "DraftImage",
    }  # shown inline or internal
    missing = {m.__name__ for m in models} - {m.__name__ for m in _our_models()} - skipped
    assert missing == set()


# Written only by the services (threads, tickets) or made with a shown-once secret
# (keys, tokens): no add page in the admin.
NO_ADD_PAGE = {
    "threads.ThreadEntry",
    "threads.ThreadEvent",
    "threads.Collaborator",
    "threads.Referral",
    "threads.StoredFile",
    "threads.Draft",
    "tickets.Ticket",
    "threads.Lock",
    "tickets.Task",
    "accounts.ApiKey",
    "accounts.AgentToken",
    "accounts.AuditEntry",
}


def test_changelists_search_and_add_pages_answer(admin_client_demo):
    """One seeded database, every model: list, search, first filter, add page."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        label = model._meta.label
        base = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        assert (
            admin_client_demo.get(reverse(f"{base}_changelist"), follow=True).status_code == 200
        ), label
        if model._meta.model_name == "helpdesksettings":
            continue
        assert model_admin.search_fields, f"{label} has no search"
        searched = admin_client_demo.get(reverse(f"{base}_changelist"), {"q": "a"})
        assert searched.status_code == 200, label
        if model_admin.list_filter:
            assert "changelist-filter" in searched.content.decode(), label
        add = admin_client_demo.get(reverse(f"{base}_add"))
        assert add.status_code == (403 if label in NO_ADD_PAGE else 200), label


def test_a_ticket_can_be_viewed_not_changed(admin_client_demo, nothing_written):
    ticket = Ticket.objects.first()
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    response = admin_client_demo.get(url)
    assert response.status_code == 200 and ticket.subject in response.content.decode()
    with nothing_written():
        response = admin_client_demo.post(url, {"subject": "hacked"})
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.subject != "hacked"


def test_purging_the_trash_from_the_admin(admin_client_demo, nothing_written):
    deleted = list(Ticket.objects.filter(state=State.DELETED).values_list("pk", flat=True))
    url = reverse("admin:tickets_ticket_changelist")
    admin_client_demo.post(url, {"action": "purge_deleted", "_selected_action": deleted})
    assert not Ticket.objects.filter(pk__in=deleted).exists()
    open_one = Ticket.objects.filter(state=State.OPEN).first()
    with nothing_written():
        admin_client_demo.post(url, {"action": "purge_deleted", "_selected_action": [open_one.pk]})
    assert Ticket.objects.filter(pk=open_one.pk).exists()


def test_agents_without_the_admin_flag_are_kept_out(client, db):
    call_command("seed_demo")
    client.force_login(User.objects.get(username="agent"))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_settings_page_opens_the_single_row(admin_client_demo):
    response = admin_client_demo.get(
        reverse("admin:tickets_helpdesksettings_changelist"), follow=True
    )
    assert response.status_code == 200 and "Ticket numbers" in response.content.decode()


def test_the_role_form_offers_the_permission_vocabulary(admin_client_demo):
    response = admin_client_demo.get(reverse("admin:accounts_role_add"))
    html = response.content.decode()
    assert "ticket.transfer" in html and "faq.manage" not in html  # faq.manage is agent-wide


def test_an_admin_gives_an_agent_permissions_and_an_extra_department(admin_client_demo):
    from accounts.models import DepartmentAccess, Role
    from routing.models import Department

    agent = User.objects.get(username="agent")
    url = reverse("admin:accounts_user_change", args=[agent.pk])
    page = admin_client_demo.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | tuple)
    }
    data.update(
        {
            "email": agent.email,
            "username": agent.username,
            "name": agent.name,
            "timezone": "Europe/Paris",
            "is_active": "on",
            "is_agent": "on",
            "department": agent.department_id,
            "role": agent.role_id,
            "permissions": ["user.dir", "faq.manage"],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "department_accesses-TOTAL_FORMS": "1",
            "department_accesses-INITIAL_FORMS": "0",
            "department_accesses-0-department": Department.objects.get(name="Billing").pk,
            "department_accesses-0-role": Role.objects.get(name="View only").pk,
            "department_accesses-0-alerts": "on",
            "extra_emails-TOTAL_FORMS": "0",
            "extra_emails-INITIAL_FORMS": "0",
        }
    )
    data.pop("password", None)
    data["password"] = agent.password
    response = admin_client_demo.post(url, data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else ""
    )
    agent.refresh_from_db()
    assert (
        sorted(agent.permissions) == ["faq.manage", "user.dir"] and agent.timezone == "Europe/Paris"
    )
    assert DepartmentAccess.objects.get(agent=agent).department.name == "Billing"


def test_an_admin_creates_a_role_with_checkboxes(admin_client_demo):
    from accounts.models import Role

    response = admin_client_demo.post(
        reverse("admin:accounts_role_add"),
        {"name": "Night shift", "permissions": ["ticket.reply", "ticket.assign"], "notes": ""},
    )
    assert response.status_code == 302
    assert sorted(Role.objects.get(name="Night shift").permissions) == [
        "ticket.assign",
        "ticket.reply",
    ]
