"""Custom user and organization fields on the panel's people pages: the add and edit
forms show them and save them with the record; a bad value is an error on its field and
writes nothing; the user's and organization's pages show the values; the CSV import
previews and writes a column per user field."""

import pytest

from accounts.models import Organization, User
from tickets.models import CustomField, CustomForm, OrganizationFieldValue, UserFieldValue

from ..factories import AgentFactory
from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _as(cast, *keys):
    return signed_in(AgentFactory(department=cast.dept_a, permissions=list(keys)))


@pytest.fixture
def user_fields(db):
    form = CustomForm.objects.create(name="Contact information", scope=CustomForm.Scope.USER)
    CustomField.objects.create(form=form, name="badge", label="Badge number", required=True)
    CustomField.objects.create(
        form=form, name="plan", label="Plan", kind="choice", choices="basic\npro"
    )
    CustomField.objects.create(form=form, name="vip", label="VIP", kind="checkbox")
    return form


@pytest.fixture
def org_fields(db):
    form = CustomForm.objects.create(name="Organization info", scope=CustomForm.Scope.ORGANIZATION)
    CustomField.objects.create(form=form, name="contract", label="Contract number")
    return form


def _values(owner) -> dict[str, str]:
    return {v.field.name: v.value for v in owner.field_values.select_related("field")}


def _alice_form(cast, **extra):
    return {"name": "Alice", "email": cast.alice.email, **extra}


# --- users ------------------------------------------------------------------------------


def test_the_edit_form_shows_the_fields_with_their_values(cast, user_fields):
    UserFieldValue.objects.create(
        user=cast.alice, field=user_fields.fields.get(name="badge"), value="B-42"
    )

    html = _as(cast, "user.edit").get(f"/scp/users/{cast.alice.pk}/edit/").content.decode()

    assert 'name="cf_badge"' in html and 'value="B-42"' in html
    assert 'name="cf_plan"' in html and '<option value="pro">pro</option>' in html
    assert 'name="cf_vip"' in html


def test_saving_the_user_saves_the_fields(cast, user_fields):
    client = _as(cast, "user.edit", "user.dir")
    response = client.post(
        f"/scp/users/{cast.alice.pk}/edit/",
        _alice_form(cast, cf_badge="B-1", cf_plan="pro", cf_vip="on"),
    )

    assert response.status_code == 302
    assert _values(cast.alice) == {"badge": "B-1", "plan": "pro", "vip": "yes"}
    html = client.get(f"/scp/users/{cast.alice.pk}/").content.decode()
    assert '<div data-field="badge"><dt>Badge number</dt><dd>B-1</dd></div>' in html
    assert '<div data-field="vip"><dt>VIP</dt><dd>Yes</dd></div>' in html


def test_a_bad_value_is_shown_on_its_field_and_nothing_is_written(cast, user_fields):
    before = cast.alice.name
    response = _as(cast, "user.edit").post(
        f"/scp/users/{cast.alice.pk}/edit/",
        _alice_form(cast, name="Renamed", cf_badge="", cf_plan="basic"),
    )

    assert response.status_code == 422
    field = response.context["form"]["cf_badge"]
    assert field.errors == ["This field is required."]
    cast.alice.refresh_from_db()
    assert cast.alice.name == before
    assert not UserFieldValue.objects.exists()


def test_a_new_user_is_added_with_the_fields(cast, user_fields):
    response = _as(cast, "user.create").post(
        "/scp/users/new/", {"email": "nina@x.test", "cf_badge": "N-1", "cf_plan": "basic"}
    )

    assert response.status_code == 302
    nina = User.objects.get(email="nina@x.test")
    assert _values(nina) == {"badge": "N-1", "plan": "basic", "vip": ""}


def test_a_new_user_without_a_required_field_is_not_added(cast, user_fields):
    response = _as(cast, "user.create").post("/scp/users/new/", {"email": "nina@x.test"})

    assert response.status_code == 422
    assert response.context["form"]["cf_badge"].errors == ["This field is required."]
    assert not User.objects.filter(email="nina@x.test").exists()


# --- organizations ---------------------------------------------------------------------------


def test_organizations_are_created_edited_and_shown_with_their_fields(cast, org_fields):
    client = _as(cast, "org.create", "org.edit", "user.dir")
    response = client.post(
        "/scp/orgs/new/", {"name": "Initech", "sharing": "requester", "cf_contract": "C-1"}
    )
    assert response.status_code == 302
    org = Organization.objects.get(name="Initech")
    assert _values(org) == {"contract": "C-1"}

    edit = client.get(f"/scp/orgs/{org.pk}/edit/").content.decode()
    assert 'name="cf_contract"' in edit and 'value="C-1"' in edit
    response = client.post(
        f"/scp/orgs/{org.pk}/edit/", {"name": "Initech", "sharing": "all", "cf_contract": "C-2"}
    )
    assert response.status_code == 302
    assert _values(org) == {"contract": "C-2"}
    html = client.get(f"/scp/orgs/{org.pk}/").content.decode()
    assert "<dt>Contract number</dt><dd>C-2</dd>" in html


def test_a_bad_organization_value_writes_nothing(cast, org_fields):
    response = _as(cast, "org.edit").post(
        f"/scp/orgs/{cast.acme.pk}/edit/",
        {"name": "Renamed", "sharing": "all", "cf_contract": "x" * 300},
    )

    assert response.status_code == 422
    assert response.context["form"]["cf_contract"].errors == ["At most 255 characters."]
    cast.acme.refresh_from_db()
    assert cast.acme.name == "Acme"
    assert not OrganizationFieldValue.objects.exists()


# --- CSV import -------------------------------------------------------------------------------


def test_the_import_previews_and_writes_the_field_columns(cast, user_fields):
    client = _as(cast, "user.create")
    text = "email,Badge number,plan\nann@x.test,A-1,pro\nben@x.test,B-1,gold\n"

    preview = client.post("/scp/users/import/", {"text": text}).content.decode()
    assert '<th scope="col">Badge number</th><th scope="col">Plan</th>' in preview
    assert "<td>A-1</td><td>pro</td>" in preview
    assert "Plan: Choose one of: basic, pro." in preview

    done = client.post("/scp/users/import/", {"text": text, "confirm": "on", "skip_invalid": "on"})

    assert done.status_code == 302
    assert _values(User.objects.get(email="ann@x.test")) == {"badge": "A-1", "plan": "pro"}
    assert not User.objects.filter(email="ben@x.test").exists()
