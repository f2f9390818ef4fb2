"""The user fields clients see, on the client's portal profile: shown with their values,
saved with the name and time zone; a bad value is an error on its field and writes
nothing; fields clients do not see are neither shown nor changed."""

import pytest

from tickets.models import CustomField, CustomForm, UserFieldValue

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_fields(db):
    form = CustomForm.objects.create(name="Contact information", scope=CustomForm.Scope.USER)
    return {
        "company": CustomField.objects.create(
            form=form, name="company", label="Company", required=True
        ),
        "birthday": CustomField.objects.create(
            form=form, name="birthday", label="Birthday", kind="date"
        ),
        "rating": CustomField.objects.create(
            form=form, name="rating", label="Internal rating", client_visible=False
        ),
    }


def _data(**extra):
    return {"name": "Alice Liddell", "timezone": "Europe/Paris", "language": "", **extra}


def _values(user) -> dict[str, str]:
    return {v.field.name: v.value for v in user.field_values.select_related("field")}


def test_the_profile_shows_the_fields_clients_see(client, helpdesk, user_fields):
    alice = helpdesk.alice
    UserFieldValue.objects.create(user=alice, field=user_fields["company"], value="Wonderland")
    UserFieldValue.objects.create(user=alice, field=user_fields["rating"], value="difficult")
    client.force_login(alice)

    html = client.get("/profile/").content.decode()

    assert 'name="cf_company"' in html and 'value="Wonderland"' in html
    assert 'name="cf_birthday"' in html
    assert "cf_rating" not in html and "difficult" not in html


def test_the_client_saves_the_fields_with_the_profile(client, helpdesk, user_fields):
    alice = helpdesk.alice
    UserFieldValue.objects.create(user=alice, field=user_fields["rating"], value="difficult")
    client.force_login(alice)

    response = client.post(
        "/profile/", _data(cf_company="Wonderland", cf_birthday="2001-05-04", cf_rating="great")
    )

    assert response.status_code == 302
    assert _values(alice) == {
        "company": "Wonderland",
        "birthday": "2001-05-04",
        "rating": "difficult",
    }


def test_a_bad_value_is_refused_on_its_field_with_nothing_written(client, helpdesk, user_fields):
    alice = helpdesk.alice
    before = alice.name
    client.force_login(alice)

    response = client.post("/profile/", _data(cf_company="", cf_birthday="yesterday"))

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["cf_company"] == ["This field is required."]
    assert form.errors["cf_birthday"] == ["Enter a date as YYYY-MM-DD."]
    alice.refresh_from_db()
    assert alice.name == before
    assert not UserFieldValue.objects.exists()
