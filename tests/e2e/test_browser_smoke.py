import pytest

from .conftest import screenshot


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_admin_login_page_renders_in_chromium(page, live_server):
    page.goto("/admin/login/")
    assert page.title().startswith("Log in")
    assert page.locator("input[name=username]").is_visible()
    assert screenshot(page, "admin-login").stat().st_size > 1000
