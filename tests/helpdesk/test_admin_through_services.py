"""The Django admin writes through the same services as the API: configuration rows
(accounts.configuration via routing/tickets/accounts services), API keys
(api_key_update), token revocation (token_revoke) and guests' links
(access_links_revoke). Each channel gets the same side effects; a refusal writes
nothing."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from rest_framework.test import APIClient

import routing.services
import tickets.services.configuration
from accounts import signals as account_signals
from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create, api_key_update, token_create
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import AgentToken, ApiKey, Organization, User
from accounts.services import user_update
from helpdesk.portal.models import AccessLink
from helpdesk.portal.services import access_link_request, access_links_revoke
from routing.models import Department, Team
from tickets.models import Priority

from ..factories import AgentFactory, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_site(client, cast):
    client.force_login(cast.admin)
    return client


def _api(user) -> APIClient:
    _, secret = token_create(actor=SYSTEM, user=user, name="api")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _spy(monkeypatch, module, name="config_save"):
    """Record the calls of `module.name`, still doing the real work."""
    real, calls = getattr(module, name), []

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


# --- configuration rows --------------------------------------------------------------


def test_a_department_from_the_admin_and_from_the_api_go_through_department_save(
    admin_site, cast, monkeypatch
):
    calls = _spy(monkeypatch, routing.services)

    by_admin = admin_site.post(
        reverse("admin:routing_department_add"),
        {"name": "Sales", "assign_policy": "none", "is_public": "on", "is_active": "on"},
    )
    by_api = _api(cast.admin).post("/api/v1/departments/", {"name": "Legal"}, format="json")

    assert (by_admin.status_code, by_api.status_code) == (302, 201)
    assert [type(c["instance"]) for c in calls] == [Department, Department]
    assert [c["actor"] for c in calls] == [cast.admin, cast.admin]
    assert set(Department.objects.values_list("name", flat=True)) >= {"Sales", "Legal"}


def test_team_members_chosen_in_the_admin_are_set_by_the_service(admin_site, cast, monkeypatch):
    calls = _spy(monkeypatch, routing.services)

    response = admin_site.post(
        reverse("admin:routing_team_add"),
        {
            "name": "Night shift",
            "members": [cast.agent_a.pk, cast.agent_b.pk],
            "is_active": "on",
            "assign_policy": "none",
        },
    )

    assert response.status_code == 302
    team = Team.objects.get(name="Night shift")
    assert set(team.members.all()) == {cast.agent_a, cast.agent_b}
    assert set(calls[0]["m2m"]["members"]) == {cast.agent_a, cast.agent_b}


def test_deleting_a_priority_in_the_admin_goes_through_priority_delete(
    admin_site, cast, monkeypatch
):
    calls = _spy(monkeypatch, tickets.services.configuration, "config_delete")
    spare = Priority.objects.create(name="Someday", urgency=9)

    response = admin_site.post(
        reverse("admin:tickets_priority_delete", args=[spare.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert [c["instance"].name for c in calls] == ["Someday"]
    assert not Priority.objects.filter(pk=spare.pk).exists()


def test_a_refusal_of_the_service_shows_in_the_admin_and_writes_nothing(
    admin_site, cast, monkeypatch
):
    def refuse(**kwargs):
        raise Conflict("This clashes with an existing row.", code="conflict")

    monkeypatch.setattr(routing.services, "config_save", refuse)
    url = reverse("admin:routing_department_add")
    logged = LogEntry.objects.count()

    response = admin_site.post(
        url, {"name": "Sales", "assign_policy": "none", "is_active": "on"}, follow=True
    )

    assert response.redirect_chain == [(url, 302)]
    assert "Not saved: This clashes with an existing row." in response.content.decode()
    assert not Department.objects.filter(name="Sales").exists()
    assert LogEntry.objects.count() == logged


def test_an_organization_made_in_the_admin_is_announced_like_one_made_by_the_api(
    admin_site, cast, django_capture_on_commit_callbacks
):
    created = []
    account_signals.organization_created.connect(
        lambda **kw: created.append(kw["organization"].name), weak=False, dispatch_uid="t-org"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_site.post(
                reverse("admin:accounts_organization_add"),
                {
                    "name": "Initech",
                    "sharing": Organization.Sharing.REQUESTER,
                    "notes": "",
                    "domains-TOTAL_FORMS": "1",
                    "domains-INITIAL_FORMS": "0",
                    "domains-0-domain": "@Initech.Example",
                },
            )
            by_api = _api(cast.admin).post(
                "/api/v1/organizations/", {"name": "Hooli", "domains": ["hooli.example"]}
            )
    finally:
        account_signals.organization_created.disconnect(dispatch_uid="t-org")

    assert (response.status_code, by_api.status_code) == (302, 201)
    assert created == ["Initech", "Hooli"]
    org = Organization.objects.get(name="Initech")
    assert list(org.domains.values_list("domain", flat=True)) == ["initech.example"]


def test_the_domains_inline_replaces_the_domains_through_the_service(admin_site, cast):
    old = cast.acme.domains.create(domain="acme.test")
    url = reverse("admin:accounts_organization_change", args=[cast.acme.pk])

    response = admin_site.post(
        url,
        {
            "name": cast.acme.name,
            "sharing": cast.acme.sharing,
            "notes": "Key account",
            "domains-TOTAL_FORMS": "2",
            "domains-INITIAL_FORMS": "1",
            "domains-0-id": old.pk,
            "domains-0-organization": cast.acme.pk,
            "domains-0-domain": "acme.test",
            "domains-0-DELETE": "on",
            "domains-1-domain": "acme.example",
        },
    )

    assert response.status_code == 302
    cast.acme.refresh_from_db()
    assert cast.acme.notes == "Key account"
    assert list(cast.acme.domains.values_list("domain", flat=True)) == ["acme.example"]


def test_a_person_added_in_the_admin_is_created_and_announced_by_user_create(
    admin_site, django_capture_on_commit_callbacks
):
    created = []
    account_signals.user_created.connect(
        lambda **kw: created.append(kw["user"].email), weak=False, dispatch_uid="t-user"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_site.post(
                reverse("admin:accounts_user_add"),
                {
                    "email": "New.Agent@Example.org",
                    "username": "newagent",
                    "name": "New Agent",
                    "password1": "a-long-enough-Passw0rd",
                    "password2": "a-long-enough-Passw0rd",
                    "extra_emails-TOTAL_FORMS": "0",
                    "extra_emails-INITIAL_FORMS": "0",
                },
            )
    finally:
        account_signals.user_created.disconnect(dispatch_uid="t-user")

    assert response.status_code == 302, response.content.decode()[-3000:]
    user = User.objects.get(email="new.agent@example.org")
    assert response["Location"] == reverse("admin:accounts_user_change", args=[user.pk])
    assert created == ["new.agent@example.org"]
    assert (user.username, user.name) == ("newagent", "New Agent")
    assert user.check_password("a-long-enough-Passw0rd")


def test_user_edit_covers_a_clients_details_not_an_agents_record(cast):
    editor = AgentFactory(username="ed", department=cast.dept_a, permissions=["user.edit"])

    user_update(actor=editor, user=cast.bob, data={"name": "Robert", "phone": "+1 555"})
    with pytest.raises(PermissionRefused):
        user_update(actor=editor, user=cast.bob, data={"is_agent": True})
    with pytest.raises(PermissionRefused):
        user_update(actor=editor, user=cast.agent_b, data={"name": "Renamed"})

    bob, agent_b = User.objects.get(pk=cast.bob.pk), User.objects.get(pk=cast.agent_b.pk)
    assert (bob.name, bob.phone, bob.is_agent) == ("Robert", "+1 555", False)
    assert agent_b.name != "Renamed"


# --- API keys --------------------------------------------------------------------------


@pytest.fixture
def key(db):
    return api_key_create(actor=SYSTEM, name="mta", allowed_ips=["10.0.0.5"])[0]


def _key_form(key, **changes):
    data = {
        "name": key.name,
        "is_active": "on",
        "allowed_ips": '["10.0.0.5/32"]',
        "notes": "",
    }
    data.update(changes)
    return data


def test_an_api_key_saved_in_the_admin_is_normalised_by_the_service(admin_site, cast, key):
    url = reverse("admin:accounts_apikey_change", args=[key.pk])

    response = admin_site.post(
        url,
        _key_form(
            key,
            allowed_ips='["10.0.0.5", "192.168.0.7/24"]',
            write_departments=[cast.dept_b.pk],
            can_create_tickets="on",
        ),
    )

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.allowed_ips == ["10.0.0.5/32", "192.168.0.0/24"]
    assert key.can_create_tickets is True
    assert list(key.write_departments.all()) == [cast.dept_b]


def test_a_bad_address_is_a_form_error_and_nothing_changes(admin_site, key):
    url = reverse("admin:accounts_apikey_change", args=[key.pk])

    response = admin_site.post(url, _key_form(key, name="renamed", allowed_ips='["10.0.0.999"]'))

    assert response.status_code == 200
    assert "Not an address or network: 10.0.0.999." in response.content.decode()
    key.refresh_from_db()
    assert (key.name, key.allowed_ips) == ("mta", ["10.0.0.5/32"])


def test_only_helpdesk_admins_change_keys_and_only_their_settings(cast, key):
    with pytest.raises(PermissionRefused):
        api_key_update(actor=cast.agent_a, key=key, data={"can_exec_cron": True})
    with pytest.raises(ValidationFailed):
        api_key_update(actor=cast.admin, key=key, data={"key_hash": "0" * 64})

    fresh = ApiKey.objects.get(pk=key.pk)
    assert (fresh.can_exec_cron, fresh.key_hash) == (False, key.key_hash)


# --- tokens and guests' links ----------------------------------------------------------


def test_revoking_tokens_in_the_admin_does_what_the_apis_revoke_does(admin_site, cast):
    by_api, by_api_secret = token_create(actor=SYSTEM, user=cast.agent_a, name="by api")
    by_admin, by_admin_secret = token_create(actor=SYSTEM, user=cast.agent_a, name="by admin")

    deleted = _api(cast.agent_a).delete(f"/api/v1/tokens/{by_api.pk}/")
    acted = admin_site.post(
        reverse("admin:accounts_agenttoken_changelist"),
        {"action": "revoke", "_selected_action": [by_admin.pk]},
    )

    assert (deleted.status_code, acted.status_code) == (204, 302)
    for token, secret in ((by_api, by_api_secret), (by_admin, by_admin_secret)):
        token.refresh_from_db()
        assert token.revoked_at is not None and not token.is_usable
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert client.get("/api/v1/tickets/").status_code == 401


def test_revoking_again_in_the_admin_keeps_the_first_time(admin_site, cast):
    token, _ = token_create(actor=SYSTEM, user=cast.agent_a, name="t")
    url = reverse("admin:accounts_agenttoken_changelist")
    admin_site.post(url, {"action": "revoke", "_selected_action": [token.pk]})
    first = AgentToken.objects.get(pk=token.pk).revoked_at

    page = admin_site.post(url, {"action": "revoke", "_selected_action": [token.pk]}, follow=True)

    assert AgentToken.objects.get(pk=token.pk).revoked_at == first
    assert "0 token(s) revoked." in page.content.decode()


@pytest.fixture
def links(cast):
    ticket = open_ticket(cast.bob, department=cast.dept_a)
    return [access_link_request(email="bob@globex.test", number=ticket.number) for _ in "ab"]


def test_revoking_links_in_the_admin_goes_through_the_service(admin_site, links):
    old = links[0]
    access_links_revoke(actor=SYSTEM, ids=[old.pk])
    first = AccessLink.objects.get(pk=old.pk).revoked_at

    response = admin_site.post(
        reverse("admin:helpdesk_portal_accesslink_changelist"),
        {"action": "revoke", "_selected_action": [link.pk for link in links]},
        follow=True,
    )

    assert "1 links revoked." in response.content.decode()
    assert AccessLink.objects.get(pk=old.pk).revoked_at == first  # kept
    assert AccessLink.objects.get(pk=links[1].pk).revoked_at is not None


def test_only_helpdesk_admins_revoke_links_and_nothing_changes_otherwise(cast, links):
    with pytest.raises(PermissionRefused):
        access_links_revoke(actor=cast.agent_a, ids=[link.pk for link in links])
    with pytest.raises(ValueError):
        access_links_revoke(actor=cast.admin)

    assert not AccessLink.objects.filter(revoked_at__isnull=False).exists()


def test_a_refused_deletion_is_not_logged_and_a_done_one_is(admin_site, cast, monkeypatch):
    from django.contrib.admin.models import DELETION

    spare = Priority.objects.create(name="Someday", urgency=9)
    deletions = LogEntry.objects.filter(action_flag=DELETION)
    real = tickets.services.configuration.config_delete

    def refuse(**kwargs):
        raise Conflict("Someday is still wanted.", code="conflict")

    monkeypatch.setattr(tickets.services.configuration, "config_delete", refuse)
    url = reverse("admin:tickets_priority_delete", args=[spare.pk])
    refused = admin_site.post(url, {"post": "yes"}, follow=True)
    assert "Someday is still wanted." in refused.content.decode()
    assert Priority.objects.filter(pk=spare.pk).exists()
    assert not deletions.exists()  # Django logs before deleting: not when refused

    monkeypatch.setattr(tickets.services.configuration, "config_delete", real)
    admin_site.post(url, {"post": "yes"})
    assert not Priority.objects.filter(pk=spare.pk).exists()
    (entry,) = deletions
    assert (entry.object_id, entry.object_repr) == (str(spare.pk), "Someday")
