"""A password alone never gets past the second factor: not through the API's session
authentication, not through the Django admin (the audit's finding)."""

from django.test import Client

from helpdesk.panel.models import PanelSettings

from .conftest import signed_in


def _require_2fa():
    PanelSettings.objects.update_or_create(pk=1, defaults={"require_2fa": True})
    settings_row = PanelSettings.load()
    assert settings_row.require_2fa


def test_the_admin_login_page_sends_staff_to_the_panel_sign_in(db):
    response = Client().get("/admin/login/?next=/admin/tickets/ticket/")
    assert response.status_code == 302
    assert response["Location"] == "/scp/login/?next=%2Fadmin%2Ftickets%2Fticket%2F"
    posted = Client().post("/admin/login/", {"username": "root", "password": "secret"})
    assert (posted.status_code, posted["Location"]) == (302, "/scp/login/?next=%2Fadmin%2F")


def test_an_admin_without_the_required_second_factor_is_kept_out_of_the_admin(cast):
    client = signed_in(cast.admin)
    assert client.get("/admin/").status_code == 200
    _require_2fa()
    response = client.get("/admin/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")


def test_an_agent_session_without_the_second_factor_cannot_use_the_api(cast, nothing_written):
    client = signed_in(cast.agent_a)
    assert client.get("/api/v1/tickets/").status_code == 200
    _require_2fa()
    refused = client.get("/api/v1/tickets/")
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    with nothing_written():
        backdoor = client.post(
            "/api/v1/tokens/", {"name": "backdoor"}, content_type="application/json"
        )
    assert (backdoor.status_code, backdoor.json()["code"]) == (401, "not_authenticated")


def test_the_panel_sign_in_can_return_to_the_admin(cast):
    client = Client()
    response = client.post(
        "/scp/login/", {"login": "root", "password": "secret", "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
