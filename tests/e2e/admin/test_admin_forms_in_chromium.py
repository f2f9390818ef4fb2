"""The admin's forms in a real browser: a filter action shows only the fields of its
kind (static/js/admin_filter_actions.js); the Helpdesk settings page, one for all.
Screenshots in test-artifacts/screenshots/admin-*.png."""

import pytest
from playwright.sync_api import expect

from ..conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def sign_in(page):
    page.goto("/scp/login/")
    page.get_by_label("Username or email").fill("root")
    page.get_by_label("Password").fill("secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#admin-link")).to_be_visible()


def test_a_filter_action_shows_only_the_fields_of_its_kind(page, cast):
    sign_in(page)
    page.goto("/admin/routing/ticketfilter/add/")
    action = page.locator("#actions-0")
    kind = page.locator("#id_actions-0-kind")

    # nothing chosen: no target field
    expect(action.locator(".field-priority")).to_be_hidden()
    expect(action.locator(".field-value")).to_be_hidden()

    kind.select_option("priority")
    expect(action.locator(".field-priority")).to_be_visible()
    expect(action.locator(".field-value")).to_be_hidden()
    expect(action.locator(".field-department")).to_be_hidden()
    screenshot(page, "admin-filter-action-priority")

    kind.select_option("reject")
    expect(action.locator(".field-value")).to_be_visible()
    expect(action.locator(".field-priority")).to_be_hidden()

    # a row added later is wired too
    page.locator("#actions-group .add-row a").click()
    expect(page.locator("#actions-1 .field-value")).to_be_hidden()
    page.locator("#id_actions-1-kind").select_option("collaborators")
    expect(page.locator("#actions-1 .field-value")).to_be_visible()


def test_the_helpdesk_settings_page_saves_every_section(page, cast):
    from helpdesk.panel.models import PanelSettings

    sign_in(page)
    page.goto("/admin/")
    page.locator("#content-main").get_by_role("link", name="Helpdesk settings").click()
    expect(page.locator("#panelsettings")).to_contain_text("Require two-factor sign-in")
    screenshot(page, "admin-helpdesk-settings")
    page.locator("#id_helpdesksettings-lock_minutes").fill("12")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messagelist")).to_contain_text("The helpdesk settings were saved.")
    from tickets.models import HelpdeskSettings

    assert HelpdeskSettings.load().lock_minutes == 12
    assert PanelSettings.load().require_2fa is False
