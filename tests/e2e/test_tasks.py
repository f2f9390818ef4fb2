"""Tasks in the staff panel, in a real browser (Chromium through Playwright, against
live_server): agent A creates a task from a ticket and assigns it to agent B; closing
the ticket is refused, naming the task; B signs in, opens the task from their queue
and closes it; A closes the ticket. Screenshots: test-artifacts/screenshots/panel-task*.png.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import open_ticket
from tickets.models import Task, Ticket

from .conftest import screenshot
from .panel.test_panel_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_task_from_a_ticket_holds_the_ticket_open_until_its_agent_closes_it(new_page, cast):
    ticket = open_ticket(
        cast.alice, department=cast.dept_a, subject="Printer on fire", body="Smoke on floor 2."
    )
    # Bea works in another department: the task's agent picker offers her with
    # visibility.agents (otherwise only agents sharing a department)
    cast.agent_a.permissions = ["visibility.agents"]
    cast.agent_a.save(update_fields=["permissions"])
    alex, bea = new_page(), new_page()

    # A creates a task from the ticket and assigns it to B
    sign_in(alex, "alex")
    alex.goto(f"/scp/tickets/{ticket.number}/")
    alex.locator("#action-task summary").click()
    form = alex.locator("#action-task form")
    form.locator("input[name=title]").fill("Order a new fuser")
    form.locator("select[name=agent]").select_option(value=str(cast.agent_b.pk))
    form.get_by_role("button", name="Create task").click()
    expect(alex.locator("#messages")).to_contain_text(re.compile(r"Task #\d+ created\."))
    task = Task.objects.get()
    expect(alex.locator("#messages")).to_contain_text(f"Task #{task.number} created.")
    tasks = alex.locator("#tasks")
    expect(tasks).to_contain_text("Order a new fuser")
    expect(tasks).to_contain_text(cast.agent_b.display_name)
    screenshot(alex, "panel-ticket-tasks")

    # closing the ticket is refused, naming the task (with a link to it)
    alex.locator('[data-action="edit-status"]').click()
    alex.locator("#action-status select[name=status]").select_option(label="Closed")
    alex.locator("#action-status").get_by_role("button", name="Save").click()
    refusal = alex.locator("#action-status .form-errors")
    expect(refusal).to_contain_text(f"has open tasks: #{task.number} (Order a new fuser)")
    expect(alex.locator("#action-status [data-open-tasks]").get_by_role("link")).to_have_attribute(
        "href", f"/scp/tasks/{task.number}/"
    )
    expect(alex.locator(".ticket-head .badges")).not_to_contain_text("Closed")
    screenshot(alex, "panel-ticket-close-refused")

    # B signs in, opens the task from their queue and closes it
    sign_in(bea, "bea")
    expect(bea.locator("[data-nav=tasks] .count")).to_have_text("1")
    bea.locator("[data-nav=tasks]").click()
    bea.locator("[data-task-queue=mine]").click()
    expect(bea).to_have_url(re.compile(r"/scp/tasks/queues/mine/"))
    screenshot(bea, "panel-task-queue")
    bea.get_by_role("link", name="Order a new fuser").click()
    expect(bea.get_by_role("heading", level=1)).to_contain_text("Order a new fuser")
    expect(bea.locator(".task-head")).to_contain_text(f"#{ticket.number}")
    screenshot(bea, "panel-task")
    bea.locator("#task-action-close summary").click()
    bea.locator("#task-action-close input[name=comment]").fill("Fuser replaced.")
    bea.locator("#task-action-close").get_by_role("button", name="Close").click()
    expect(bea.locator("#messages")).to_contain_text("Task closed.")
    expect(bea.locator(".task-head .badges")).to_contain_text("Closed")
    assert Task.objects.get().state == "closed"

    # A closes the ticket
    alex.reload()
    expect(alex.locator("#tasks")).to_contain_text("Closed")
    alex.locator('[data-action="edit-status"]').click()
    alex.locator("#action-status select[name=status]").select_option(label="Closed")
    alex.locator("#action-status").get_by_role("button", name="Save").click()
    expect(alex.locator("#messages")).to_contain_text("Status changed.")
    expect(alex.locator(".ticket-head .badges")).to_contain_text("Closed")
    assert Ticket.objects.get(pk=ticket.pk).state == "closed"
