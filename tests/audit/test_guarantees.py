"""What the audit log promises beyond one entry per change: account and sign-in entries
from every surface, the entry in the change's transaction (a refused or rolled back
change leaves none), no way to edit or delete entries (admin, API), and the retention
purge as the only way out, itself recorded."""

import datetime as dt

import pyotp
import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import audit
from accounts.actors import SYSTEM
from accounts.apikeys import token_create
from accounts.models import AuditEntry
from accounts.services import user_lock
from accounts.services_profile import client_password_change, client_profile_update
from helpdesk.ops import retention
from helpdesk.ops.models import RetentionSettings
from helpdesk.panel import services as panel_services
from routing.models import Department

from ..factories import AgentFactory

pytestmark = pytest.mark.django_db


def only(action: str) -> AuditEntry:
    found = list(AuditEntry.objects.filter(action=action))
    assert len(found) == 1, [e.action for e in AuditEntry.objects.all()]
    return found[0]


# --- sign-ins ---------------------------------------------------------------------------


def test_a_panel_sign_in_is_recorded_with_the_address(cast):
    client = Client(REMOTE_ADDR="192.0.2.10")

    response = client.post("/scp/login/", {"login": "alex", "password": "secret"})

    assert response.status_code == 302
    found = only("signin.succeeded")
    assert (found.actor_user, found.ip, found.detail) == (cast.agent_a, "192.0.2.10", "staff panel")
    assert found.target_id == str(cast.agent_a.pk)


@pytest.mark.parametrize(
    ("url", "data", "surface"),
    [
        ("/scp/login/", {"login": "alex", "password": "nope"}, "staff panel"),
        ("/login/", {"username": "alice@acme.test", "password": "nope"}, "portal"),
    ],
)
def test_a_refused_sign_in_is_recorded_on_every_surface(cast, url, data, surface):
    """(The admin's own login page sends staff to the panel's: admins sign in there.)"""
    Client(REMOTE_ADDR="192.0.2.11").post(url, data)

    found = only("signin.failed")
    assert (found.actor_kind, found.actor_user, found.ip) == ("anonymous", None, "192.0.2.11")
    assert found.detail == surface
    assert found.target_type is not None  # the account the name belongs to
    assert "nope" not in str(found.changes) + found.detail


def test_a_sign_in_for_an_unknown_name_keeps_the_name_typed(db):
    Client().post("/login/", {"username": "ghost@nowhere.test", "password": "x"})

    found = only("signin.failed")
    assert (found.target_type, found.target_repr) == (None, "ghost@nowhere.test")


# --- accounts: each operation, its entry ------------------------------------------------


def _lock(cast):
    user_lock(actor=cast.admin, user=cast.alice)
    return cast.admin, cast.alice, {"is_locked": [False, True]}


def _unlock(cast):
    cast.alice.is_locked = True
    cast.alice.save()
    user_lock(actor=cast.admin, user=cast.alice, locked=False)
    return cast.admin, cast.alice, {"is_locked": [True, False]}


def _2fa_enabled(cast):
    device = panel_services.totp_begin(actor=cast.agent_b)
    code = pyotp.TOTP(device.secret).now()
    assert panel_services.totp_verify(agent=cast.agent_b, code=code, confirm=True)
    return cast.agent_b, cast.agent_b, {}


def _2fa_disabled(cast):
    _2fa_enabled(cast)
    panel_services.totp_disable(actor=cast.agent_b)
    return cast.agent_b, cast.agent_b, {}


def _recovery_codes_generated(cast):
    _2fa_enabled(cast)
    panel_services.recovery_codes_generate(actor=cast.agent_b)
    return cast.agent_b, cast.agent_b, {}


def _password_changed(cast):
    client_password_change(actor=cast.alice, old_password="secret", new_password="N3w-long-pass!")
    return cast.alice, cast.alice, {"password": ["***", "***"]}


def _updated(cast):
    client_profile_update(actor=cast.alice, name="Alice A.", timezone="UTC")
    return cast.alice, cast.alice, {"name": [cast.alice.name, "Alice A."]}


ACCOUNT_CASES = {
    "account.locked": _lock,
    "account.unlocked": _unlock,
    "account.2fa_enabled": _2fa_enabled,
    "account.2fa_disabled": _2fa_disabled,
    "account.recovery_codes_generated": _recovery_codes_generated,
    "account.password_changed": _password_changed,
    "account.updated": _updated,
}


@pytest.mark.parametrize("action", list(ACCOUNT_CASES))
def test_each_account_operation_writes_its_entry(cast, action):
    before_name = cast.alice.name
    with audit.from_address("198.51.100.20"):
        actor, target, changes = ACCOUNT_CASES[action](cast)

    found = only(action)
    assert (found.actor_user, found.target_id, found.ip) == (actor, str(target.pk), "198.51.100.20")
    if action == "account.updated":
        changes = {"name": [before_name, "Alice A."]}
    if changes:
        assert found.changes == changes


def test_the_panels_own_password_change_is_recorded_masked(cast):
    client = Client()
    client.force_login(cast.agent_a)

    response = client.post(
        "/scp/profile/password/",
        {
            "old_password": "secret",
            "new_password1": "An0ther-long-pass",
            "new_password2": "An0ther-long-pass",
        },
    )

    assert response.status_code == 302
    found = only("account.password_changed")
    assert (found.actor_user, found.detail) == (cast.agent_a, "own change")
    assert found.changes == {"password": ["***", "***"]}


# --- the entry is part of the change's transaction --------------------------------------


def _api(user) -> APIClient:
    _, secret = token_create(actor=SYSTEM, user=user, name="api")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_refused_change_writes_no_entry(cast, nothing_written):
    api = _api(cast.agent_a)  # not an admin

    with nothing_written():
        response = api.post("/api/v1/departments/", {"name": "Legal"}, format="json")

    assert response.status_code == 403


def test_a_change_whose_entry_cannot_be_written_is_not_made(cast, monkeypatch):
    """One transaction: when writing the entry fails, the change rolls back with it."""
    api = _api(cast.admin)

    def broken(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        api.post("/api/v1/departments/", {"name": "Legal"}, format="json")

    assert not Department.objects.filter(name="Legal").exists()


def test_a_rolled_back_admin_change_leaves_no_entry(cast, nothing_written):
    """The admin's refusal (a clash the service reports) rolls back the entry too."""
    Department.objects.create(name="Legal")
    client = Client()
    client.force_login(cast.admin)
    before = AuditEntry.objects.count()

    response = client.post(
        reverse("admin:routing_department_add"),
        {"name": "Legal", "assign_policy": "none", "is_public": "on", "is_active": "on"},
    )

    assert response.status_code == 200  # the form again, with the clash
    assert AuditEntry.objects.count() == before
    assert Department.objects.filter(name="Legal").count() == 1


# --- never edited or deleted ------------------------------------------------------------


@pytest.fixture
def superuser_client(db):
    boss = AgentFactory(username="boss", is_helpdesk_admin=True, is_superuser=True)
    client = Client()
    client.force_login(boss)
    return client


def test_the_admin_shows_entries_read_only_even_to_a_superuser(superuser_client, nothing_written):
    entry = audit.record("settings.updated", actor=SYSTEM, target_label="Helpdesk settings")
    change = reverse("admin:accounts_auditentry_change", args=[entry.pk])

    listing = superuser_client.get(reverse("admin:accounts_auditentry_changelist"))
    page = superuser_client.get(change)
    assert listing.status_code == 200 and page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and "deletelink" not in html
    assert 'value="delete_selected"' not in listing.content.decode()
    with nothing_written():
        assert superuser_client.get(reverse("admin:accounts_auditentry_add")).status_code == 403
        assert superuser_client.post(change, {"detail": "rewritten"}).status_code == 403
        delete = reverse("admin:accounts_auditentry_delete", args=[entry.pk])
        assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
        bulk = superuser_client.post(
            reverse("admin:accounts_auditentry_changelist"),
            {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
        )
        assert bulk.status_code in (200, 302)
    assert AuditEntry.objects.get(pk=entry.pk).detail == ""


def test_the_api_offers_no_way_to_the_audit_log(cast):
    api = _api(cast.admin)
    entry = audit.record("settings.updated", actor=SYSTEM, target_label="Helpdesk settings")

    for method in ("get", "post", "put", "patch", "delete"):
        for url in ("/api/v1/audit/", f"/api/v1/audit/{entry.pk}/", "/api/v1/audit-log/"):
            assert getattr(api, method)(url, {}, format="json").status_code == 404, (method, url)
    assert AuditEntry.objects.get(pk=entry.pk).detail == ""


# --- the retention purge ----------------------------------------------------------------


def test_the_purge_removes_entries_past_their_age_and_records_itself(db):
    ages = RetentionSettings.load()
    ages.audit_days = 30
    ages.save()
    now = timezone.now()
    old = audit.record("signin.failed", actor=AnonymousUser(), at=now - dt.timedelta(days=31))
    recent = audit.record("signin.failed", actor=AnonymousUser(), at=now - dt.timedelta(days=29))

    with audit.acting_as_command("run_cron"):
        done = retention.purge_all(now=now)

    assert done["audit"] == 1
    left = set(AuditEntry.objects.values_list("pk", flat=True))
    assert old.pk not in left and recent.pk in left
    purged = only("retention.purged")
    assert (purged.actor_kind, purged.actor_label) == ("command", "command run_cron")
    assert "audit: 1" in purged.detail


def test_the_purge_job_run_by_the_command_names_it(db):
    ages = RetentionSettings.load()
    ages.audit_days = 1
    ages.save()
    audit.record("signin.failed", actor=AnonymousUser(), at=timezone.now() - dt.timedelta(days=5))

    call_command("run_cron", "purge_retention")

    purged = only("retention.purged")
    assert purged.actor_label == "command run_cron"
    assert not AuditEntry.objects.filter(action="signin.failed").exists()


def test_a_purge_with_nothing_to_purge_writes_nothing(db, nothing_written):
    with nothing_written():
        retention.purge_all()


@pytest.mark.parametrize(
    ("route", "who"),
    [("portal:password_reset_confirm", "alice"), ("panel:password_reset_confirm", "agent_a")],
)
def test_a_password_set_through_a_reset_link_is_recorded_by_its_holder(cast, route, who):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from accounts.services_passwords import password_reset_issue

    user = getattr(cast, who)
    token = password_reset_issue(user=user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    client = Client(REMOTE_ADDR="192.0.2.30")
    form = client.get(reverse(route, kwargs={"uidb64": uid, "token": token}), follow=True)
    assert form.context["validlink"] is True

    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-much-better-Pass1", "new_password2": "a-much-better-Pass1"},
    )

    assert done.status_code == 302
    found = only("account.password_changed")
    assert (found.actor_user, found.target_id, found.ip) == (user, str(user.pk), "192.0.2.30")
    assert (found.detail, found.changes) == ("reset link", {"password": ["***", "***"]})


def test_deleting_an_account_keeps_its_entries_under_its_name(cast):
    from tickets.services.people import user_delete

    client_password_change(actor=cast.alice, old_password="secret", new_password="N3w-long-pass!")
    name, pk = str(cast.alice), cast.alice.pk

    user_delete(actor=cast.admin, user=cast.alice, tickets="keep")

    changed = only("account.password_changed")
    assert (changed.actor_user, changed.actor_label, changed.target_id) == (None, name, str(pk))
    deleted = only("account.deleted")
    assert (deleted.actor_user, deleted.target_id, deleted.target_repr) == (
        cast.admin,
        str(pk),
        name,
    )
    assert deleted.changes["email"] == ["alice@acme.test", None]
    assert deleted.changes["password"] == ["***", None]


def test_an_invitation_and_its_acceptance_are_recorded(cast, django_capture_on_commit_callbacks):
    from helpdesk.portal.models import Invitation, PortalSettings
    from helpdesk.portal.services import invitation_accept, invitation_create

    config = PortalSettings.load()
    config.registration = PortalSettings.Registration.INVITE
    config.save()
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(actor=cast.admin, email="ivy@example.org", name="Ivy")
    invited = only("account.invited")
    assert (invited.actor_user, invited.target_id) == (cast.admin, str(invitation.pk))
    assert invited.changes["email"] == [None, "ivy@example.org"]

    import re

    from django.core import mail

    token = re.search(r"/([A-Za-z0-9_\-]{20,})/", mail.outbox[0].body).group(1)
    user = invitation_accept(token=token, name="Ivy", password="plum-tree-42")

    assert Invitation.objects.get().user == user
    assert only("account.created").target_id == str(user.pk)
    activated = only("account.activated")
    assert (activated.actor_user, activated.changes) == (user, {"password": [None, "***"]})
