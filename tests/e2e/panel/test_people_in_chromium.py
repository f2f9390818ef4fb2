"""People management in a real browser: an admin creates an organization with an
account manager, then imports 100 users into it from a CSV file (preview, then
import). Screenshots: test-artifacts/screenshots/people-*.png."""

import pytest
from playwright.sync_api import expect

from accounts.models import Organization, User
from tests.factories import AgentFactory

from ..conftest import screenshot
from .test_panel_in_chromium import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_an_admin_creates_an_organization_and_imports_100_users(page, cast, tmp_path):
    AgentFactory(username="kim", name="Kim Manager", department=cast.dept_a)
    sign_in(page, "root")

    page.get_by_role("link", name="Organizations").first.click()
    page.get_by_role("link", name="New organization").click()
    page.locator("#id_name").fill("Initech")
    page.get_by_label("Email domains").fill("initech.test")
    page.get_by_label("Ticket sharing").select_option("all")
    page.locator("#id_manager").select_option(label="Kim Manager")
    page.get_by_label("Auto-assign new tickets to the account manager").check()
    screenshot(page, "people-org-form")
    page.get_by_role("button", name="Create organization").click()

    expect(page.locator("#messages")).to_contain_text("Organization Initech created.")
    expect(page.locator("#account-manager")).to_contain_text("Kim Manager")
    screenshot(page, "people-org")
    org = Organization.objects.get(name="Initech")
    assert org.manager_agent.username == "kim" and org.auto_assign_manager

    rows = "\n".join(f"user{i:03}@initech.test,User {i:03},555-{i:04},Initech" for i in range(100))
    csv_file = tmp_path / "users.csv"
    csv_file.write_text("email,name,phone,organization\n" + rows + "\n")
    page.goto("/scp/users/")
    page.get_by_role("link", name="Import from CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Preview").click()

    expect(page.locator("#import-summary")).to_contain_text("100 rows, 0 invalid")
    expect(page.locator("#import-preview tbody tr")).to_have_count(100)
    screenshot(page, "people-import-preview")
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.locator("#messages")).to_contain_text("100 users imported, 0 rows skipped.")
    screenshot(page, "people-users")
    assert User.objects.filter(organization=org).count() == 100
    assert User.objects.get(email="user042@initech.test").phone == "555-0042"

    page.goto(f"/scp/orgs/{org.pk}/")
    expect(page.locator("main")).to_contain_text("user099@initech.test")
