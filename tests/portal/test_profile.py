"""A client's profile in the portal: name, time zone and language; password change;
further email addresses, added only through a link mailed to them. Only signed-in
clients have one; each acts on their own record."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import UserEmail
from helpdesk.portal.models import ClientPreferences

VERIFY = re.compile(r"https?://[^/\s]+(/profile/emails/verify/[^/\s]+/)")


def profile_data(**extra):
    return {"name": "Alice Liddell", "timezone": "Europe/Paris", "language": "fr", **extra}


def test_a_client_edits_name_time_zone_and_language(client, helpdesk, tickets):
    alice = helpdesk.alice
    client.force_login(alice)
    assert client.get("/profile/").status_code == 200
    response = client.post("/profile/", profile_data())
    assert response.status_code == 302 and response["Location"] == "/profile/"
    alice.refresh_from_db()
    assert (alice.name, alice.timezone) == ("Alice Liddell", "Europe/Paris")
    assert ClientPreferences.objects.get(user=alice).language == "fr"
    # the portal speaks the chosen language from the next page on
    page = client.get(f"/tickets/{tickets['alice'].number}/")
    assert page.wsgi_request.LANGUAGE_CODE == "fr"
    assert '<html lang="fr" dir="ltr">' in page.content.decode()
    # and back to the site's default
    client.post("/profile/", profile_data(language=""))
    assert '<html lang="en' in client.get("/tickets/").content.decode()


def test_the_chosen_language_is_used_in_a_new_session(client, helpdesk):
    ClientPreferences.objects.create(user=helpdesk.alice, language="de")
    client.force_login(helpdesk.alice)
    assert '<html lang="de" dir="ltr">' in client.get("/profile/").content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "   "), ("timezone", "Mars/Olympus_Mons"), ("language", "xx-klingon")],
)
def test_bad_profile_input_is_refused_with_nothing_written(client, helpdesk, field, value):
    alice = helpdesk.alice
    before = (alice.name, alice.timezone)
    client.force_login(alice)
    response = client.post("/profile/", profile_data(**{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    alice.refresh_from_db()
    assert (alice.name, alice.timezone) == before
    assert not ClientPreferences.objects.exists()


def test_the_password_changes_with_the_current_one_and_the_session_stays(client, helpdesk):
    alice = helpdesk.alice
    client.force_login(alice)
    data = {
        "old_password": "secret",
        "new_password1": "a much better passphrase",
        "new_password2": "a much better passphrase",
    }
    response = client.post("/profile/password/", data)
    assert response.status_code == 302 and response["Location"] == "/profile/"
    alice.refresh_from_db()
    assert alice.check_password("a much better passphrase")
    assert client.get("/profile/").status_code == 200  # still signed in


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"old_password": "wrong", "new_password1": "x9!long enough pass"}, "old_password"),
        ({"old_password": "secret", "new_password1": "123"}, "new_password1"),
        (
            {"old_password": "secret", "new_password1": "x9!long", "new_password2": "y"},
            "new_password2",
        ),
    ],
)
def test_a_bad_password_change_is_refused_and_the_password_kept(client, helpdesk, data, field):
    alice = helpdesk.alice
    client.force_login(alice)
    data = {"new_password2": data["new_password1"], **data}
    response = client.post("/profile/password/", data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    alice.refresh_from_db()
    assert alice.check_password("secret")


def add_address(client, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/profile/emails/", {"email": email})


def test_an_address_is_added_only_through_the_link_mailed_to_it(
    client, helpdesk, django_capture_on_commit_callbacks
):
    alice = helpdesk.alice
    client.force_login(alice)
    response = add_address(client, "Alice.Home@Example.net", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert not UserEmail.objects.exists()  # not before it is confirmed
    [message] = mail.outbox
    assert message.to == ["alice.home@example.net"]
    path = VERIFY.search(message.body).group(1)
    page = client.get(path)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "alice.home@example.net" in page.content.decode()
    assert not UserEmail.objects.exists()
    assert client.post(path).status_code == 302
    assert list(alice.extra_emails.values_list("email", flat=True)) == ["alice.home@example.net"]
    assert "alice.home@example.net" in client.get("/profile/").content.decode()
    # the link is spent: following it again adds nothing
    client.post(path)
    assert UserEmail.objects.count() == 1


def test_the_link_works_only_for_its_account_and_expires(
    client, helpdesk, django_capture_on_commit_callbacks, portal_config
):
    client.force_login(helpdesk.alice)
    add_address(client, "alice.home@example.net", django_capture_on_commit_callbacks)
    path = VERIFY.search(mail.outbox[-1].body).group(1)
    client.force_login(helpdesk.bob)
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    client.logout()
    assert client.get(path)["Location"].startswith("/login/?next=")  # sign in first
    client.force_login(helpdesk.alice)
    later = timezone.now() + dt.timedelta(hours=portal_config.verification_hours, minutes=1)
    with time_machine.travel(later):
        assert client.post(path).status_code == 404
    assert not UserEmail.objects.exists()
    tampered = path.replace("/verify/", "/verify/x")
    assert client.post(tampered).status_code == 404


def test_an_address_of_another_account_is_never_added_nor_told(
    client, helpdesk, django_capture_on_commit_callbacks
):
    client.force_login(helpdesk.alice)
    response = add_address(client, "bob@globex.test", django_capture_on_commit_callbacks)
    assert response.status_code == 302  # the same answer
    assert mail.outbox == []  # but nothing is sent to bob
    assert not UserEmail.objects.exists()


def test_a_bad_address_is_refused(client, helpdesk, django_capture_on_commit_callbacks):
    client.force_login(helpdesk.alice)
    response = add_address(client, "not an address", django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert response.context["email_form"].errors["email"]
    assert mail.outbox == []


def test_a_client_removes_their_own_address_only(client, helpdesk):
    mine = UserEmail.objects.create(user=helpdesk.alice, email="alice.home@example.net")
    bobs = UserEmail.objects.create(user=helpdesk.bob, email="bob.home@example.net")
    client.force_login(helpdesk.alice)
    assert client.post(f"/profile/emails/{bobs.pk}/remove/").status_code == 404
    assert UserEmail.objects.filter(pk=bobs.pk).exists()
    assert client.get(f"/profile/emails/{mine.pk}/remove/").status_code == 405
    assert client.post(f"/profile/emails/{mine.pk}/remove/").status_code == 302
    assert not UserEmail.objects.filter(pk=mine.pk).exists()


def test_guests_agents_and_strangers_have_no_profile(client, helpdesk, tickets, guest_login):
    assert client.get("/profile/")["Location"].startswith("/login/")
    guest_login(client, tickets["stranger"], helpdesk.stranger)
    assert client.get("/profile/")["Location"].startswith("/login/")
    assert client.post("/profile/", profile_data()).status_code == 302
    helpdesk.stranger.refresh_from_db()
    assert helpdesk.stranger.name != "Alice Liddell"
    client.force_login(helpdesk.agent_a)
    assert client.get("/profile/").status_code == 403  # agents use the panel's


def test_the_header_links_to_the_profile(client, helpdesk):
    client.force_login(helpdesk.alice)
    assert 'href="/profile/"' in client.get("/tickets/").content.decode()
