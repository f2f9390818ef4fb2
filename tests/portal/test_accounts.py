"""Signing in and out, registration in its three modes (open with email verification,
invitation only, none) and password reset."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from accounts.errors import PermissionRefused
from accounts.models import User
from helpdesk.portal.models import EmailVerification, Invitation, PortalSettings
from helpdesk.portal.services import invitation_create

from ..factories import AgentFactory, open_ticket

URL = re.compile(r"https?://[^/\s]+(/[^\s]+/)")
REGISTER = {
    "name": "Nora New",
    "email": "nora@example.org",
    "password1": "plum-tree-42",
    "password2": "plum-tree-42",
}


def mailed_path(message) -> str:
    return URL.search(message.body).group(1)


def signed_in_as(client):
    return client.session.get(SESSION_KEY)


# --- login and logout ------------------------------------------------------------------


def test_clients_sign_in_with_their_email_and_land_on_their_tickets(client, helpdesk):
    response = client.post("/login/", {"username": "ALICE@acme.test", "password": "secret"})
    assert response.status_code == 302
    assert response["Location"] == "/tickets/"
    assert signed_in_as(client) == str(helpdesk.alice.pk)
    client.post("/logout/")
    response = client.post(
        "/login/", {"username": "alice@acme.test", "password": "secret", "next": "/kb/"}
    )
    assert response["Location"] == "/kb/"


def test_a_next_page_on_another_host_is_ignored(client, helpdesk):
    response = client.post(
        "/login/?next=https://evil.test/",
        {"username": "alice@acme.test", "password": "secret"},
    )
    assert response["Location"] == "/tickets/"


AUDIT = "accounts.auditentry"  # a refused sign-in is recorded there, and nothing else


def refusals(watch) -> int:
    """How many rows the block added to the audit log, each a refused sign-in."""
    rows = watch.added.get(AUDIT, [])
    assert {r["action"] for r in rows} <= {"signin.failed"}
    return len(rows)


def test_wrong_passwords_are_refused_then_throttled(client, helpdesk, nothing_written):
    with nothing_written(only_new=(AUDIT,)) as watch:
        for _ in range(5):
            response = client.post("/login/", {"username": "alice@acme.test", "password": "nope"})
            assert response.context["form"].non_field_errors() == [
                "That email address and password do not match."
            ]
        response = client.post("/login/", {"username": "ALICE@acme.test", "password": "secret"})
    assert refusals(watch) == 5  # the audit log's; the throttled attempt checks nothing
    assert (response.status_code, response["Retry-After"]) == (429, "900")
    assert response.context["form"].non_field_errors() == [
        "Too many failed sign-ins. Wait 15 minutes and try again."
    ]
    assert signed_in_as(client) is None


def test_the_panel_and_the_portal_count_failures_for_one_account(client, helpdesk, nothing_written):
    from django.test import Client

    with nothing_written(only_new=(AUDIT,)) as watch:
        for _ in range(3):
            Client().post("/scp/login/", {"login": "alice@acme.test", "password": "nope"})
        for _ in range(2):
            client.post("/login/", {"username": "alice@acme.test", "password": "nope"})
        response = client.post("/login/", {"username": "alice@acme.test", "password": "secret"})
    assert refusals(watch) == 5
    assert response.status_code == 429
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    ("who", "reset_attempt"),
    [
        ("alice", {"username": "alice@acme.test", "password": ""}),  # no password
        ("alex", {"username": "alex", "password": "anything"}),  # not an address
        ("alex", {"username": "alex", "password": ""}),
    ],
)
def test_a_sign_in_that_checks_no_password_never_clears_the_failures(
    client, helpdesk, who, reset_attempt, nothing_written
):
    """Only a right password clears an account's failures: a form that authenticates
    nobody (empty password, an agent's username on the portal) changes no count."""
    login_as = {"alice": "alice@acme.test", "alex": helpdesk.agent_a.email}[who]
    with nothing_written(only_new=(AUDIT,)) as watch:
        for _ in range(4):
            assert (
                client.post("/login/", {"username": login_as, "password": "nope"}).status_code
                == 200
            )
        attempt = client.post("/login/", reset_attempt)
        assert attempt.status_code == 200 and signed_in_as(client) is None
        assert client.post("/login/", {"username": login_as, "password": "nope"}).status_code == 200
        response = client.post("/login/", {"username": login_as, "password": "secret"})
        assert (response.status_code, response["Retry-After"]) == (429, "900")
        assert signed_in_as(client) is None
        panel = Client(REMOTE_ADDR="192.0.2.50")
        refused = panel.post("/scp/login/", {"login": login_as, "password": "secret"})
    assert refused.status_code == 429 and "_auth_user_id" not in panel.session
    assert refusals(watch) == 5  # the wrong passwords, in the audit log


def test_agents_sign_in_to_the_staff_panel_not_here(client, helpdesk, nothing_written):
    with nothing_written():
        response = client.post("/login/", {"username": "alex", "password": "secret"})
        assert response.context["form"].errors == {  # an email address is asked
            "username": ["Enter a valid email address."]
        }
        email = helpdesk.agent_a.email
        response = client.post("/login/", {"username": email, "password": "secret"})
    assert response.context["form"].non_field_errors() == [
        "Staff members sign in to the staff panel."
    ]
    assert signed_in_as(client) is None


def test_sign_out_asks_on_get_and_signs_out_on_post(client, helpdesk):
    client.force_login(helpdesk.alice)
    assert "Sign out of the help center" in client.get("/logout/").content.decode()
    assert signed_in_as(client) == str(helpdesk.alice.pk)
    response = client.post("/logout/")
    assert response["Location"] == "/"
    assert signed_in_as(client) is None


# --- open registration -----------------------------------------------------------------


def test_open_registration_makes_the_account_only_once_the_address_is_confirmed(
    client, helpdesk, django_capture_on_commit_callbacks, nothing_written
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/register/", REGISTER)
    assert response["Location"] == "/register/sent/"
    assert not User.objects.filter(email="nora@example.org").exists()
    [message] = mail.outbox
    assert (message.to, message.subject) == (["nora@example.org"], "Confirm your email address")
    path = mailed_path(message)
    assert path.startswith("/register/verify/")
    pending = EmailVerification.objects.get()
    assert "plum-tree-42" not in pending.password and pending.password.startswith("md5$")
    # GET only asks (mail scanners follow links); POST confirms
    assert client.get(path).status_code == 200
    assert not User.objects.filter(email="nora@example.org").exists()
    response = client.post(path)
    assert response["Location"] == "/tickets/"
    nora = User.objects.get(email="nora@example.org")
    assert (nora.name, nora.is_agent, nora.check_password("plum-tree-42")) == (
        "Nora New",
        False,
        True,
    )
    assert signed_in_as(client) == str(nora.pk)
    # the link is used up
    client.post("/logout/")
    with nothing_written():
        assert client.post(path).status_code == 404
    assert User.objects.filter(email="nora@example.org").count() == 1


def test_a_guest_who_registers_keeps_their_tickets(
    client, helpdesk, django_capture_on_commit_callbacks
):
    from accounts.actors import SYSTEM
    from accounts.services import user_get_or_create_by_email

    gail, _ = user_get_or_create_by_email(actor=SYSTEM, email="gail@example.org", name="Gail")
    ticket = open_ticket(gail, actor=SYSTEM, department=helpdesk.dept_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/", {**REGISTER, "email": "gail@example.org"})
    client.post(mailed_path(mail.outbox[-1]))
    assert User.objects.filter(email="gail@example.org").count() == 1
    gail.refresh_from_db()
    assert gail.check_password("plum-tree-42")
    assert client.get(f"/tickets/{ticket.number}/").status_code == 200


def test_registering_an_address_with_an_account_mails_its_owner_and_changes_nothing(
    client, helpdesk, django_capture_on_commit_callbacks
):
    password = helpdesk.alice.password
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/register/", {**REGISTER, "email": "alice@acme.test"})
    assert response["Location"] == "/register/sent/"  # the same answer as for a new address
    [message] = mail.outbox
    assert (message.to, message.subject) == (["alice@acme.test"], "You already have an account")
    assert "/password/reset/" in message.body
    helpdesk.alice.refresh_from_db()
    assert helpdesk.alice.password == password
    assert EmailVerification.objects.count() == 0


def test_registration_errors_are_shown_per_field(client, helpdesk, nothing_written):
    with nothing_written():
        response = client.post(
            "/register/",
            {"name": "", "email": "bad", "password1": "nora@example.org", "password2": "other"},
        )
        assert response.context["form"].errors == {
            "name": ["This field is required."],
            "email": ["Enter a valid email address."],
            "password2": ["The two passwords differ."],
        }
        response = client.post("/register/", {**REGISTER, "password1": "123", "password2": "123"})
    assert response.context["form"].errors["password1"] == [
        "This password is too short. It must contain at least 8 characters.",
        "This password is too common.",
        "This password is entirely numeric.",
    ]
    assert (User.objects.filter(email="nora@example.org").count(), len(mail.outbox)) == (0, 0)
    assert EmailVerification.objects.count() == 0


def test_expired_verifications_are_refused(
    client, helpdesk, django_capture_on_commit_callbacks, nothing_written
):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/", REGISTER)
    path = mailed_path(mail.outbox[-1])
    with time_machine.travel(timezone.now() + dt.timedelta(hours=49)), nothing_written():
        assert client.post(path).status_code == 404
    assert not User.objects.filter(email="nora@example.org").exists()


def test_registration_mails_are_limited_per_address(
    client, helpdesk, portal_config, django_capture_on_commit_callbacks, nothing_written
):
    portal_config.account_mails_per_ip_per_hour = 1
    portal_config.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/", REGISTER)
        with nothing_written():
            response = client.post("/register/", {**REGISTER, "email": "two@example.org"})
    assert response.status_code == 429
    assert [m.to for m in mail.outbox] == [["nora@example.org"]]


# --- invitation only and none ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["invite", "none"])
def test_without_open_registration_nobody_registers_themselves(
    client, helpdesk, portal_config, mode, nothing_written
):
    portal_config.registration = mode
    portal_config.save()
    page = client.get("/register/")
    assert page.status_code == 200
    expected = "by invitation only" if mode == "invite" else "You do not need an account"
    assert expected in page.content.decode()
    with nothing_written():
        refused = client.post("/register/", REGISTER)
    assert refused.status_code == 200 and expected in refused.content.decode()
    assert (User.objects.filter(email="nora@example.org").count(), len(mail.outbox)) == (0, 0)
    assert 'href="/register/"' not in client.get("/").content.decode()


def test_an_invited_client_chooses_a_password_once(
    client, helpdesk, portal_config, django_capture_on_commit_callbacks, nothing_written
):
    portal_config.registration = PortalSettings.Registration.INVITE
    portal_config.save()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(actor=helpdesk.admin, email="Ivy@Example.org", name="Ivy")
    [message] = mail.outbox
    assert (message.to, message.subject) == (
        ["ivy@example.org"],
        "You are invited to our help center",
    )
    path = mailed_path(message)
    page = client.get(path)
    assert "ivy@example.org" in page.content.decode()
    with nothing_written():
        response = client.post(path, {"name": "Ivy", "password1": "x", "password2": "x"})
    assert response.context["form"].errors == {
        "password1": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
        ]
    }
    response = client.post(
        path, {"name": "Ivy I.", "password1": "plum-tree-42", "password2": "plum-tree-42"}
    )
    assert response["Location"] == "/tickets/"
    ivy = User.objects.get(email="ivy@example.org")
    assert (ivy.name, ivy.check_password("plum-tree-42")) == ("Ivy I.", True)
    invitation = Invitation.objects.get()
    assert (invitation.user, invitation.accepted_at is not None) == (ivy, True)
    client.post("/logout/")
    assert client.get(path).status_code == 404


def test_invitations_need_user_manage_and_registration_modes_allowing_them(
    helpdesk, portal_config, nothing_written
):
    agent = AgentFactory(department=helpdesk.dept_a)
    with nothing_written(), pytest.raises(PermissionRefused) as no_permission:
        invitation_create(actor=agent, email="x@example.org")
    assert str(no_permission.value) == "You need the user.manage permission for this."
    with nothing_written(), pytest.raises(PermissionRefused) as a_client:
        invitation_create(actor=helpdesk.alice, email="x@example.org")
    assert str(a_client.value) == "You need the user.manage permission for this."
    agent.permissions = ["user.manage"]
    agent.save()
    invitation_create(actor=agent, email="x@example.org")
    portal_config.registration = PortalSettings.Registration.NONE
    portal_config.save()
    with nothing_written(), pytest.raises(PermissionRefused) as closed:
        invitation_create(actor=helpdesk.admin, email="y@example.org")
    assert str(closed.value) == "Registration is not open."
    assert list(Invitation.objects.values_list("email", flat=True)) == ["x@example.org"]


def test_admins_invite_from_django_admin(
    client, helpdesk, portal_config, django_capture_on_commit_callbacks, nothing_written
):
    client.force_login(helpdesk.admin)
    helpdesk.admin.is_superuser = True
    helpdesk.admin.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/helpdesk_portal/invitation/add/", {"email": "new@example.org", "name": "N"}
        )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["new@example.org"]]
    with nothing_written():
        response = client.post(
            "/admin/helpdesk_portal/invitation/add/", {"email": "alice@acme.test", "name": "A"}
        )
    assert response.status_code == 200
    assert "has an account already" in response.content.decode()
    assert Invitation.objects.count() == 1


# --- password reset --------------------------------------------------------------------


def test_clients_reset_their_password_by_mail(client, helpdesk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/password/reset/", {"email": "alice@acme.test"})
    assert response["Location"] == "/password/reset/sent/"
    assert mail.outbox == [] and len(callbacks) == 1  # sent by a task after commit
    callbacks[0]()
    [message] = mail.outbox
    assert (message.to, message.subject) == (["alice@acme.test"], "Choose a new password")
    path = mailed_path(message)
    response = client.get(path)  # Django moves the token into the session
    assert response.status_code == 302
    set_url = response["Location"]
    response = client.post(
        set_url, {"new_password1": "new-plum-tree-7", "new_password2": "new-plum-tree-7"}
    )
    assert response["Location"] == "/password/reset/done/"
    helpdesk.alice.refresh_from_db()
    assert helpdesk.alice.check_password("new-plum-tree-7")


def test_no_reset_mail_for_agents_guests_or_unknown_addresses(
    client, helpdesk, django_capture_on_commit_callbacks
):
    from accounts.actors import SYSTEM
    from accounts.services import user_get_or_create_by_email

    user_get_or_create_by_email(actor=SYSTEM, email="guest@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        for email in (helpdesk.agent_a.email, "guest@example.org", "nobody@example.org"):
            response = client.post("/password/reset/", {"email": email})
            assert response["Location"] == "/password/reset/sent/"
    assert mail.outbox == []


def test_admins_edit_the_portal_settings_row_and_revoke_links(client, helpdesk, tickets):
    from helpdesk.portal.models import AccessLink
    from helpdesk.portal.services import access_link_request

    client.force_login(helpdesk.admin)
    PortalSettings.load()
    assert client.get("/admin/helpdesk_portal/portalsettings/1/change/").status_code == 200
    assert client.get("/admin/helpdesk_portal/portalsettings/add/").status_code == 403
    link = access_link_request(email="bob@globex.test", number=tickets["bob"].number)
    response = client.post(
        "/admin/helpdesk_portal/accesslink/",
        {"action": "revoke", "_selected_action": [link.pk]},
    )
    assert response.status_code == 302
    assert AccessLink.objects.get().revoked_at is not None
