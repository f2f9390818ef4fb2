"""Queues in Chromium: the bulk bar shows only while tickets are selected, and the
sidebar's counts refresh after an htmx action (a claim) without a page load."""

import pytest
from playwright.sync_api import expect

from tests.factories import AgentFactory, open_ticket

from ..conftest import screenshot
from .test_panel_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_bulk_bar_follows_the_selection(page, cast):
    AgentFactory(username="sam", department=cast.dept_a)
    for i in range(3):
        open_ticket(cast.alice, department=cast.dept_a, subject=f"Request {i}")
    sign_in(page, "sam")
    bar = page.locator("fieldset.bulk")
    expect(page.locator("table.tickets")).to_contain_text("Request 2")
    expect(bar).to_be_hidden()
    boxes = page.locator("input[name=tickets]")
    boxes.nth(0).check()
    expect(bar).to_be_visible()
    screenshot(page, "panel-queue-bulk-bar")
    boxes.nth(0).uncheck()
    expect(bar).to_be_hidden()
    page.locator("[data-check-all]").check()
    expect(bar).to_be_visible()
    page.locator("[data-check-all]").uncheck()
    expect(bar).to_be_hidden()


def test_the_counts_refresh_after_a_claim_without_a_page_load(page, cast):
    AgentFactory(username="sam", department=cast.dept_a)
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Printer on fire")
    sign_in(page, "sam")
    mine = page.locator('#queue-counts [data-queue="mine"] .count')
    expect(mine).to_have_text("0")
    page.goto(f"/scp/tickets/{ticket.number}/")
    page.evaluate("window.__same_page = true")
    page.locator("[data-action=claim]").click()
    expect(mine).to_have_text("1")
    expect(page.locator('#queue-counts [data-queue="unassigned"] .count')).to_have_text("0")
    assert page.evaluate("window.__same_page") is True  # swapped, not reloaded
