"""The two reads every signed-in request makes, written once per process
(accounts.rows): the session row (accounts.sessionstore) and the user with their role,
panel preferences and second factor (accounts.backends.HelpdeskBackend.get_user)."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.backends import HelpdeskBackend
from accounts.sessionstore import SessionStore
from helpdesk.panel.models import AgentPreferences, TotpDevice

from ..factories import AgentFactory, role

pytestmark = pytest.mark.django_db


def test_the_user_comes_with_role_preferences_and_second_factor_in_one_statement():
    agent = AgentFactory(role=role("Limited Access"))
    AgentPreferences.objects.create(agent=agent, page_size=50)
    with CaptureQueriesContext(connection) as ctx:
        user = HelpdeskBackend().get_user(agent.pk)
        assert user is not None and user.pk == agent.pk and user.email == agent.email
        assert user.role.name == "Limited Access"
        assert user.panel_preferences.page_size == 50
        assert user.panel_preferences.agent is user
        with pytest.raises(TotpDevice.DoesNotExist):  # none, known without a query
            user.panel_totp  # noqa: B018
    assert len(ctx.captured_queries) == 1


def test_a_session_key_that_is_not_a_user_or_not_active_signs_nobody_in():
    agent = AgentFactory()
    backend = HelpdeskBackend()
    assert backend.get_user(agent.pk + 1000) is None
    assert backend.get_user("not a number") is None
    assert backend.get_user(2**64) is None and backend.get_user(None) is None
    agent.is_active = False
    agent.save()
    assert backend.get_user(agent.pk) is None
    assert backend.get_user(str(agent.pk)) is None


def test_a_session_is_read_until_it_expires():
    store = SessionStore()
    store["greeting"] = "hello"
    store.create()
    key = store.session_key
    assert SessionStore(key).load() == {"greeting": "hello"}
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.load() == {}
    assert expired.session_key is None  # forgotten, as Django's store does
    assert SessionStore("no-such-key-at-all-0123456789abc").load() == {}


def test_the_second_factor_comes_decrypted():
    agent = AgentFactory()
    TotpDevice.objects.create(agent=agent, secret="JBSWY3DPEHPK3PXP")
    with CaptureQueriesContext(connection) as ctx:
        user = HelpdeskBackend().get_user(agent.pk)
        assert user is not None and user.panel_totp.secret == "JBSWY3DPEHPK3PXP"
        assert user.panel_totp.confirmed_at is None
    assert len(ctx.captured_queries) == 1
