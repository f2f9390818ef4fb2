"""The custom forms' admin: a form's scope is chosen there; only ticket forms have
help topics (a user or organization form is asked everywhere, not by topic)."""

import pytest
from django.urls import reverse

from tickets.models import CustomForm

from ..factories import TopicFactory

pytestmark = pytest.mark.django_db


def _post(client, **data):
    body = {
        "name": "Contact information",
        "scope": "user",
        "is_active": "on",
        "sort": "0",
        "fields-TOTAL_FORMS": "1",
        "fields-INITIAL_FORMS": "0",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "1000",
        "fields-0-name": "badge",
        "fields-0-label": "Badge",
        "fields-0-kind": "text",
        "fields-0-sort": "0",
        "fields-0-client_visible": "on",
        **data,
    }
    return client.post(reverse("admin:tickets_customform_add"), body)


def test_an_admin_adds_a_user_form(client, cast):
    client.force_login(cast.admin)

    response = _post(client)

    assert response.status_code == 302, response.content.decode()[:2000]
    form = CustomForm.objects.get(name="Contact information")
    assert form.scope == CustomForm.Scope.USER
    assert [f.name for f in form.fields.all()] == ["badge"]


def test_a_user_form_cannot_have_topics(client, cast):
    client.force_login(cast.admin)
    topic = TopicFactory()

    response = _post(client, topics=[topic.pk])

    assert response.status_code == 200
    assert "Only ticket forms are asked by help topic" in response.content.decode()
    assert not CustomForm.objects.exists()


def test_a_second_user_field_of_the_same_name_is_refused(client, cast):
    client.force_login(cast.admin)
    assert _post(client).status_code == 302

    response = _post(client, name="More contact information")

    assert response.status_code == 200
    assert "Another field of this kind of form has this name." in response.content.decode()
    assert CustomForm.objects.count() == 1


def test_the_scope_of_a_form_whose_fields_hold_values_stays(client, cast):
    from tickets.models import UserFieldValue

    client.force_login(cast.admin)
    assert _post(client).status_code == 302
    form = CustomForm.objects.get()
    field = form.fields.get()
    UserFieldValue.objects.create(user=cast.alice, field=field, value="B-1")
    url = reverse("admin:tickets_customform_change", args=[form.pk])

    response = client.post(
        url,
        {
            "name": form.name,
            "scope": "organization",
            "is_active": "on",
            "sort": "0",
            "fields-TOTAL_FORMS": "1",
            "fields-INITIAL_FORMS": "1",
            "fields-MIN_NUM_FORMS": "0",
            "fields-MAX_NUM_FORMS": "1000",
            "fields-0-id": field.pk,
            "fields-0-form": form.pk,
            "fields-0-name": "badge",
            "fields-0-label": "Badge",
            "fields-0-kind": "text",
            "fields-0-sort": "0",
            "fields-0-client_visible": "on",
        },
    )

    assert response.status_code == 200
    assert "Its fields already hold values" in response.content.decode()
    form.refresh_from_db()
    assert form.scope == CustomForm.Scope.USER
