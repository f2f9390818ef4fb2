"""System health in a real browser (Chromium through Playwright, against live_server):
an admin sees the banner naming a mailbox that has failed for an hour, follows it to
the health page and finds the mailbox's error; an agent sees no banner.
Screenshot: test-artifacts/screenshots/ops-health.png."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from helpdesk.cron import JOBS
from helpdesk.mail.models import Mailbox
from helpdesk.ops.models import JobState, Result

from ..conftest import screenshot
from ..panel.test_panel_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_an_admin_follows_the_banner_to_the_failing_mailbox(new_page, cast):
    now = timezone.now()
    for name in JOBS:
        JobState.objects.create(
            job=name,
            last_started_at=now,
            last_finished_at=now,
            last_duration_ms=3,
            last_result=Result.OK,
            last_ok_at=now,
        )
    Mailbox.objects.create(
        name="Support",
        address="support@example.test",
        host="imap.example.test",
        username="u",
        error_count=20,
        last_error="LOGIN failed: bad password",
        last_error_at=now - dt.timedelta(minutes=2),
        last_fetch_at=now,
    )
    admin, agent = new_page(), new_page()

    sign_in(agent, "alex")
    agent.goto("/scp/dashboard/")
    expect(agent.locator("h1")).to_have_text("Dashboard")
    expect(agent.locator(".ops-banner")).to_have_count(0)

    sign_in(admin, "root")
    admin.goto("/scp/dashboard/")
    banner = admin.locator(".ops-banner")
    expect(banner).to_contain_text("Mailbox Support has been failing for over an hour.")
    banner.get_by_role("link", name="System health").click()

    expect(admin.locator("h1")).to_have_text("System health")
    row = admin.locator('tr[data-mailbox="Support"]')
    expect(row).to_have_class("bad")
    expect(row).to_contain_text("LOGIN failed: bad password")
    expect(admin.locator('tr[data-job="fetch_mail"]')).to_contain_text("OK")
    screenshot(admin, "ops-health")
