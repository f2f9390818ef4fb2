"""Reports in a real browser: a manager with stats.agents opens the report from the
navigation, the charts draw (Chart.js under the CSP, data from the page's JSON), the
period changes through the URL, and the CSV export downloads with its header."""

import re

import pytest
from playwright.sync_api import expect

from helpdesk.reports.rollup import reports_refresh
from tests.factories import AgentFactory, open_ticket, status
from tickets import services

from ..conftest import screenshot
from .test_panel_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_manager_opens_the_report_changes_the_period_and_exports_csv(page, cast):
    manager = AgentFactory(
        username="maria", name="Maria Manager", department=cast.dept_a,
        permissions=["stats.agents"],
    )  # fmt: skip
    for i in range(3):
        ticket = open_ticket(cast.alice, department=cast.dept_a, subject=f"Request {i}")
        services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="On it")
    services.ticket_set_status(actor=cast.agent_a, ticket=ticket, status=status("Closed"))
    open_ticket(cast.bob, department=cast.dept_b, subject="Invoice")  # not her department
    reports_refresh()

    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, "maria")
    page.locator(".mainnav").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    table = page.locator("#report-table")
    expect(table).to_contain_text("Support")
    expect(table).not_to_contain_text("Billing")
    expect(page.locator("html.charts-ready")).to_have_count(1)
    assert page.locator("#chart-activity").evaluate("c => c.width > 0 && !!Chart.getChart(c)")
    expect(page.locator("#replies-table")).to_contain_text(cast.agent_a.display_name)
    screenshot(page, "panel-reports")

    page.get_by_label("Period", exact=True).select_option("7")
    page.get_by_label("By", exact=True).select_option("agent")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=7.*dimension=agent"))
    expect(table).to_contain_text(cast.agent_a.display_name)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert re.fullmatch(r"report-agent-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d-\d{8}-\d{4}\.csv",
                        download.value.suggested_filename)  # fmt: skip
    lines = open(download.value.path(), encoding="utf-8-sig").read().splitlines()  # noqa: SIM115
    assert lines[0].startswith("Agent,Opened,Assigned,Overdue,Closed,Reopened,Deleted,")
    assert any(line.startswith(cast.agent_a.display_name + ",") for line in lines[1:])
    assert manager.pk  # signed in as her throughout
    assert problems == []
