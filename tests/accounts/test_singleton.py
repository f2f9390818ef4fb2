"""The four settings models share one `load()` (accounts.singleton.SingletonSettings)."""

import pytest

from accounts.singleton import SingletonSettings
from helpdesk.mail.models import MailSettings
from helpdesk.panel.models import PanelSettings
from helpdesk.portal.models import PortalSettings
from tickets.models import HelpdeskSettings

pytestmark = pytest.mark.django_db

SETTINGS = [HelpdeskSettings, MailSettings, PanelSettings, PortalSettings]


@pytest.mark.parametrize("model", SETTINGS, ids=lambda m: m.__name__)
def test_every_settings_model_uses_the_one_load(model):
    assert issubclass(model, SingletonSettings)
    assert "load" not in vars(model)  # no model keeps a load() of its own
    assert model.load.__func__ is SingletonSettings.load.__func__


@pytest.mark.parametrize("model", SETTINGS, ids=lambda m: m.__name__)
def test_the_stored_row_is_read_with_one_query(model, django_assert_num_queries):
    model._default_manager.filter(pk=1).delete()
    model._default_manager.create(pk=1)

    with django_assert_num_queries(1):
        row = model.load()

    assert row.pk == 1 and row._state.adding is False


@pytest.mark.parametrize(
    "model", [HelpdeskSettings, MailSettings, PortalSettings], ids=lambda m: m.__name__
)
def test_a_missing_row_is_created_with_its_defaults(model):
    model._default_manager.filter(pk=1).delete()

    row = model.load()

    assert list(model._default_manager.values_list("pk", flat=True)) == [1]
    assert row.pk == 1 and row._state.adding is False


def test_reading_the_panel_settings_never_writes_them():
    PanelSettings.objects.filter(pk=1).delete()

    row = PanelSettings.load()

    assert (row.pk, row.require_2fa, row._state.adding) == (1, False, True)
    assert not PanelSettings.objects.exists()


def test_what_an_admin_saved_is_what_load_answers():
    row = MailSettings.load()
    row.reply_separator = "== answer above =="
    row.save()
    portal = PortalSettings.load()
    portal.registration = PortalSettings.Registration.NONE
    portal.save()

    assert MailSettings.load().reply_separator == "== answer above =="
    assert PortalSettings.load().registration == PortalSettings.Registration.NONE
