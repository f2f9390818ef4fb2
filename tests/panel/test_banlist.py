"""emails.banlist: the ban list in the panel and "ban sender" on a ticket, both sides."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing.models import BannedEmail

from ..factories import AgentFactory
from .conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def banner(cast):
    """An agent of department A holding emails.banlist."""
    return AgentFactory(username="warden", department=cast.dept_a, permissions=["emails.banlist"])


def test_an_agent_with_emails_banlist_lists_adds_and_removes(banner):
    client = signed_in(banner)
    BannedEmail.objects.create(address="@spam.test")
    page = client.get("/scp/banlist/")
    assert page.status_code == 200
    assert b'data-ban="@spam.test"' in page.content

    added = client.post("/scp/banlist/add/", {"address": " Jane@Evil.TEST ", "notes": "phishing"})
    assert added.status_code == 302
    ban = BannedEmail.objects.get(address="jane@evil.test")
    assert ban.notes == "phishing"

    removed = client.post(f"/scp/banlist/{ban.pk}/remove/")
    assert removed.status_code == 302
    assert not BannedEmail.objects.filter(address="jane@evil.test").exists()


def test_a_bad_or_duplicate_address_is_refused_and_nothing_is_written(banner):
    client = signed_in(banner)
    BannedEmail.objects.create(address="@spam.test")
    bad = client.post("/scp/banlist/add/", {"address": "not-an-address"})
    assert bad.status_code == 422
    assert b"Enter an address or @domain." in bad.content
    dup = client.post("/scp/banlist/add/", {"address": "@SPAM.test"})
    assert dup.status_code == 422
    assert list(BannedEmail.objects.values_list("address", flat=True)) == ["@spam.test"]


def test_without_emails_banlist_every_banlist_page_is_the_refusal_page(cast):
    client = signed_in(cast.agent_a)
    ban = BannedEmail.objects.create(address="@spam.test")
    for response in (
        client.get("/scp/banlist/"),
        client.post("/scp/banlist/add/", {"address": "x@evil.test"}),
        client.post(f"/scp/banlist/{ban.pk}/remove/"),
    ):
        assert response.status_code == 403
        assert b'data-permission="emails.banlist"' in response.content
        assert b'class="sidebar"' in response.content  # in the panel's layout
    assert list(BannedEmail.objects.values_list("address", flat=True)) == ["@spam.test"]


def test_the_banlist_link_shows_only_with_the_permission(cast, banner):
    assert b'href="/scp/banlist/"' in signed_in(banner).get("/scp/").content
    assert b'href="/scp/banlist/"' not in signed_in(cast.agent_a).get("/scp/").content


def test_ban_sender_bans_the_requester_of_a_visible_ticket(cast, banner, ticket_a):
    client = signed_in(banner)
    page = client.get(f"/scp/tickets/{ticket_a.number}/")
    assert b'data-action="ban-sender"' in page.content
    response = client.post(f"/scp/tickets/{ticket_a.number}/ban-sender/")
    assert response.status_code == 302
    ban = BannedEmail.objects.get()
    assert ban.address == "alice@acme.test"
    assert ticket_a.number in ban.notes


def test_ban_sender_needs_the_permission_and_sight_of_the_ticket(cast, banner, ticket_b):
    without = signed_in(cast.agent_b)
    page = without.get(f"/scp/tickets/{ticket_b.number}/")
    assert b'data-action="ban-sender"' not in page.content
    refused = without.post(f"/scp/tickets/{ticket_b.number}/ban-sender/")
    assert refused.status_code == 403
    # the banner works in department A only: department B's ticket is not found
    assert signed_in(banner).post(f"/scp/tickets/{ticket_b.number}/ban-sender/").status_code == 404
    assert not BannedEmail.objects.exists()


def test_the_banlist_page_costs_the_same_queries_for_5_and_50_rows(banner):
    client = signed_in(banner)

    def count(n):
        BannedEmail.objects.all().delete()
        BannedEmail.objects.bulk_create(BannedEmail(address=f"u{i}@spam.test") for i in range(n))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/scp/banlist/").status_code == 200
        return len(ctx)

    count(1)  # the first request fills the process's configuration caches
    assert count(5) == count(50)
