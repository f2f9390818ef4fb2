"""Custom user and organization fields in the REST API: `custom_fields` ({name: value})
read on every user and organization, written on create and change; a bad value or an
unknown name is a 422 naming the field, with nothing written; lists cost the same
queries whatever the page size."""

import pytest

from accounts.models import Organization, User
from tickets.models import (
    CustomField,
    CustomForm,
    OrganizationFieldValue,
    UserFieldValue,
)

from ..factories import AgentFactory, ClientFactory, OrganizationFactory
from .conftest import problem, queries_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_fields(db):
    form = CustomForm.objects.create(name="Contact information", scope=CustomForm.Scope.USER)
    CustomField.objects.create(form=form, name="badge", label="Badge")
    CustomField.objects.create(
        form=form, name="plan", label="Plan", kind="choice", choices="basic\npro"
    )
    return form


@pytest.fixture
def org_fields(db):
    form = CustomForm.objects.create(name="Organization info", scope=CustomForm.Scope.ORGANIZATION)
    CustomField.objects.create(form=form, name="tier", label="Tier", kind="choice", choices="a\nb")
    return form


def _people_agent(cast):
    perms = ["user.dir", "user.create", "user.edit", "org.create", "org.edit"]
    return AgentFactory(department=cast.dept_a, permissions=perms)


def test_users_are_read_created_and_changed_with_their_fields(api, cast, user_fields):
    client = api.agent(_people_agent(cast))

    created = client.post(
        "/api/v1/users/",
        {"email": "dan@x.test", "custom_fields": {"badge": "D-1", "plan": "pro"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["custom_fields"] == {"badge": "D-1", "plan": "pro"}
    user_id = created.json()["id"]

    changed = client.patch(
        f"/api/v1/users/{user_id}/", {"custom_fields": {"plan": "basic"}}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["custom_fields"] == {"badge": "D-1", "plan": "basic"}
    assert client.get(f"/api/v1/users/{user_id}/").json()["custom_fields"] == {
        "badge": "D-1",
        "plan": "basic",
    }


def test_a_bad_user_value_is_a_422_by_field_and_nothing_is_written(
    api, cast, user_fields, nothing_written
):
    client = api.agent(_people_agent(cast))

    with nothing_written():
        bad = client.post(
            "/api/v1/users/",
            {"email": "dan@x.test", "custom_fields": {"plan": "gold"}},
            format="json",
        )
        unknown = client.patch(
            f"/api/v1/users/{cast.alice.pk}/",
            {"name": "Renamed", "custom_fields": {"shoe": "44"}},
            format="json",
        )

    assert bad.status_code == 422
    assert problem(bad)["errors"] == {"plan": ["Choose one of: basic, pro."]}
    assert unknown.status_code == 422
    assert problem(unknown)["errors"] == {"shoe": ["No such field."]}
    assert not User.objects.filter(email="dan@x.test").exists()
    assert not UserFieldValue.objects.exists()


def test_organizations_are_created_and_changed_with_their_fields(
    api, cast, org_fields, nothing_written
):
    client = api.agent(_people_agent(cast))

    created = client.post(
        "/api/v1/organizations/", {"name": "Initech", "custom_fields": {"tier": "a"}}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["custom_fields"] == {"tier": "a"}
    org_id = created.json()["id"]

    changed = client.patch(
        f"/api/v1/organizations/{org_id}/", {"custom_fields": {"tier": "b"}}, format="json"
    )
    assert changed.json()["custom_fields"] == {"tier": "b"}

    with nothing_written():
        bad = client.patch(
            f"/api/v1/organizations/{org_id}/",
            {"name": "Renamed", "custom_fields": {"tier": "z"}},
            format="json",
        )
    assert bad.status_code == 422
    assert problem(bad)["errors"] == {"tier": ["Choose one of: a, b."]}
    org = Organization.objects.get(pk=org_id)
    assert org.name == "Initech"
    assert OrganizationFieldValue.objects.get(organization=org).value == "b"


def test_the_user_list_costs_the_same_queries_whatever_the_page_size(api, cast, user_fields):
    client = api.agent(_people_agent(cast))
    badge, plan = user_fields.fields.order_by("id")
    for i in range(30):
        user = ClientFactory()
        UserFieldValue.objects.create(user=user, field=badge, value=f"B-{i}")
        UserFieldValue.objects.create(user=user, field=plan, value="pro")
    client.get("/api/v1/users/")  # the token row touched once

    few = queries_of(client, "/api/v1/users/?page_size=2")
    assert queries_of(client, "/api/v1/users/?page_size=30") == few
    rows = client.get("/api/v1/users/?page_size=30").json()["results"]
    assert {"badge": "B-0", "plan": "pro"} in [r["custom_fields"] for r in rows]


def test_the_organization_list_costs_the_same_queries_whatever_the_page_size(api, cast, org_fields):
    client = api.agent(_people_agent(cast))
    tier = org_fields.fields.get()
    for _ in range(30):
        OrganizationFieldValue.objects.create(
            organization=OrganizationFactory(), field=tier, value="a"
        )
    client.get("/api/v1/organizations/")

    few = queries_of(client, "/api/v1/organizations/?page_size=2")
    assert queries_of(client, "/api/v1/organizations/?page_size=30") == few


def test_the_deleted_user_placeholder_is_nobody_in_the_api(api, cast):
    from tickets.services.people import placeholder_user

    placeholder = placeholder_user()
    client = api.agent(_people_agent(cast))

    listed = client.get("/api/v1/users/?page_size=100").json()
    rows = listed["results"]
    emails = {row["email"] for row in rows}
    assert cast.alice.email in emails and placeholder.email not in emails
    assert client.get(f"/api/v1/users/{placeholder.pk}/").status_code == 404
    refused = client.patch(f"/api/v1/users/{placeholder.pk}/", {"name": "X"}, format="json")
    assert refused.status_code == 404
    placeholder.refresh_from_db()
    assert placeholder.name != "X"
