"""The portal's open-ticket page and the panel's ticket page in German, Japanese and
Arabic, as a browser that asks for that language sees them: the page's language and
direction, the catalogue's words, and for Arabic the layout mirrored (the panel's
sidebar on the right). Screenshots: test-artifacts/screenshots/i18n-*.png."""

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.factories import open_ticket

from ..conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LANGUAGES = [("de", "de-DE", "ltr"), ("ja", "ja-JP", "ltr"), ("ar", "ar", "rtl")]


def words(code: str, text: str) -> str:
    with translation.override(code):
        translated = translation.gettext(text)
    assert translated != text, f"{text!r} is not translated into {code}"
    return translated


@pytest.mark.parametrize(("code", "browser_locale", "direction"), LANGUAGES)
def test_the_portal_open_ticket_page(new_page, cast, code, browser_locale, direction):
    page = new_page(browser_locale)
    page.goto("/open/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", code)
    expect(html).to_have_attribute("dir", direction)
    expect(page.get_by_role("heading", level=1)).to_have_text(words(code, "Open a new ticket"))
    expect(page.locator(".site-footer")).to_have_text(
        words(code, "Need help? Open a ticket and we will answer by email.")
    )
    expect(page.locator("#language-choice")).to_have_value(code)
    screenshot(page, f"i18n-portal-open-{code}")


@pytest.mark.parametrize(("code", "browser_locale", "direction"), LANGUAGES)
def test_the_panel_ticket_page(new_page, cast, code, browser_locale, direction):
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Printer on fire")
    page = new_page(browser_locale)
    page.goto("/scp/login/")
    page.locator("input[name=login]").fill("alex")
    page.locator("input[name=password]").fill("secret")
    page.locator("form button[type=submit]").click()
    expect(page.locator("#sidebar")).to_be_visible()
    page.goto(f"/scp/tickets/{ticket.number}/")
    expect(page.locator("html")).to_have_attribute("dir", direction)
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator("#main")).to_contain_text("Printer on fire")
    expect(page.locator("#sidebar")).to_have_attribute("aria-label", words(code, "Queues"))

    sidebar = page.locator("#sidebar").bounding_box()
    main = page.locator("#main").bounding_box()
    if direction == "rtl":
        assert sidebar["x"] > main["x"], (sidebar, main)  # mirrored: the sidebar on the right
    else:
        assert sidebar["x"] < main["x"], (sidebar, main)
    screenshot(page, f"i18n-panel-ticket-{code}")
