import pytest

from .conftest import screenshot


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_admin_sends_staff_to_the_panel_sign_in_in_chromium(page, live_server):
    page.goto("/admin/")
    assert "/scp/login/" in page.url and "next=%2Fadmin%2F" in page.url
    assert page.locator("input[name=password]").is_visible()
    assert screenshot(page, "admin-via-panel-login").stat().st_size > 1000
