"""A client's profile in a real browser: from the header to the profile, a new name and
time zone, another address confirmed from the link mailed to it (through a real SMTP
server), and a new password to sign in with."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import UserEmail

from ..conftest import screenshot
from .conftest import text_of
from .test_clients_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

VERIFY = re.compile(r"https?://\S+/profile/emails/verify/[^/\s]+/")


def test_a_client_edits_their_profile(page, portal, smtp):
    cast = portal["cast"]
    sign_in(page, "alice@acme.test")
    page.locator(".site-header").get_by_role("link", name=cast.alice.display_name).click()
    expect(page).to_have_url(re.compile(r"/profile/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My profile")

    page.get_by_label("Your name").fill("Alice Liddell")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Your profile is saved.")
    expect(page.locator(".site-header")).to_contain_text("Alice Liddell")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")

    page.get_by_label("Another email address").fill("alice.home@example.net")
    page.get_by_role("button", name="Send a confirmation link").click()
    expect(page.get_by_role("status")).to_contain_text("We sent a link to alice.home@example.net")
    message = smtp.wait_for(lambda rcpt, m: rcpt == ["alice.home@example.net"])
    link = VERIFY.search(text_of(message)).group(0)
    assert link.startswith(smtp_base(page))  # HELPDESK_BASE_URL: the live server
    page.goto(link)
    page.get_by_role("button", name="Add the address").click()
    expect(page).to_have_url(re.compile(r"/profile/$"))
    expect(page.locator(".emails")).to_contain_text("alice.home@example.net")
    assert UserEmail.objects.filter(user=cast.alice, email="alice.home@example.net").exists()
    screenshot(page, "portal-profile")

    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Current password").fill("secret")
    page.locator("#id_new_password1").fill("a much better passphrase")
    page.get_by_label("New password again").fill("a much better passphrase")
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed.")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "alice@acme.test", "a much better passphrase")


def smtp_base(page) -> str:
    return re.match(r"https?://[^/]+", page.url).group(0)
