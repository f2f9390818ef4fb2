"""The panel refuses in one place (access.agent_required -> refusal_page): a styled page
in the panel's layout naming the missing permission and whom to ask, never a bare 403."""

import pytest

from .conftest import signed_in

pytestmark = pytest.mark.django_db


def test_a_missing_agent_wide_permission_names_it_and_the_admins(cast):
    response = signed_in(cast.agent_a).get("/scp/users/")
    assert response.status_code == 403
    body = response.content.decode()
    assert 'data-permission="user.dir"' in body
    assert "Browse the user directory" in body  # what the permission allows
    assert "ask a helpdesk admin" in body
    assert cast.admin.display_name in body
    assert 'class="sidebar"' in body and "<title>Not allowed" in body


def test_the_knowledge_base_refuses_with_the_same_page(cast):
    response = signed_in(cast.agent_a).get("/scp/kb/")
    assert response.status_code == 403
    assert b'data-permission="faq.manage"' in response.content
    assert b'class="refusal"' in response.content


def test_a_client_in_the_panel_gets_the_styled_page_without_the_agents_sidebar(cast):
    response = signed_in(cast.alice).get("/scp/")
    assert response.status_code == 403
    assert b'class="refusal"' in response.content
    assert b"This account cannot use the staff panel." in response.content
    assert b'class="sidebar"' not in response.content


def test_an_admin_is_not_refused(cast):
    assert signed_in(cast.admin).get("/scp/users/").status_code == 200
