"""The bell and the 2FA set-up in Chromium: an unread alert shows on the bell, opening it
lands on the ticket and clears the count; the set-up page draws the key's QR code (SVG,
no script) beside it, and the recovery codes follow the first code."""

import pyotp
import pytest
from playwright.sync_api import expect

from helpdesk.panel.models import TotpDevice
from tests.factories import AgentFactory, open_ticket

from ..conftest import screenshot
from .test_panel_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_bell_shows_an_alert_and_opening_it_goes_to_the_ticket(page, cast):
    AgentFactory(username="sam", department=cast.dept_a)
    # opened through the service: its alert comes the way every alert does (after commit)
    open_ticket(cast.alice, department=cast.dept_a, subject="Printer on fire")
    sign_in(page, "sam")
    bell = page.locator("#bell")
    expect(bell.locator("[data-unread]")).to_contain_text("1")
    bell.click()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    screenshot(page, "panel-alerts")
    page.get_by_role("button", name="New ticket").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Printer on fire")
    expect(page.locator("#bell [data-unread]")).to_have_count(0)


def test_two_factor_set_up_shows_a_qr_code_then_the_recovery_codes(page, cast):
    AgentFactory(username="sam", department=cast.dept_a)
    sign_in(page, "sam")
    page.goto("/scp/profile/2fa/")
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100
    screenshot(page, "panel-2fa-qr")
    secret = TotpDevice.objects.get(agent__username="sam").secret
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn it on").click()
    expect(page.locator("[data-recovery-codes] li")).to_have_count(10)
    screenshot(page, "panel-2fa-recovery-codes")
    page.reload()
    expect(page.locator("[data-recovery-codes]")).to_have_count(0)  # shown once
