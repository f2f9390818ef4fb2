"""Help texts of custom fields are written by admins and shown in the portal and the
panel: escaped, never markup."""

from django.test import Client

from tests.factories import TopicFactory
from tickets.models import CustomField, CustomForm, HelpdeskSettings

HOSTILE = '<script>alert("x")</script><b>bold</b>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;"


def _topic(cast):
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    topic = TopicFactory(name="Hardware", department=cast.dept_a)
    form = CustomForm.objects.create(name="Device")
    form.topics.add(topic)
    CustomField.objects.create(form=form, name="asset", label="Asset tag", help_text=HOSTILE)
    return topic


def test_the_portal_escapes_help_texts(cast):
    topic = _topic(cast)
    html = Client().get(f"/open/fields/?topic={topic.pk}").content.decode()
    assert ESCAPED in html
    assert "<script>" not in html and "<b>bold" not in html


def test_the_panel_escapes_help_texts(cast):
    topic = _topic(cast)
    client = Client()
    client.force_login(cast.agent_a)
    response = client.get(f"/scp/tickets/new/fields/?topic={topic.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert ESCAPED in html
    assert "<script>" not in html and "<b>bold" not in html
