"""Custom fields of users and organizations: written with the record in one transaction,
checked by the ticket fields' rules, refused as a whole (nothing written) on any bad
value; the CSV import's columns; a form's scope keeps them apart from ticket fields."""

import pytest
from django.core.exceptions import ValidationError

from accounts.errors import PermissionRefused, ValidationFailed
from accounts.models import Organization, User
from tickets.customfields import fields_for_topic
from tickets.models import CustomField, CustomForm, OrganizationFieldValue, UserFieldValue
from tickets.services.people_fields import (
    client_profile_update_with_fields,
    organization_create_with_fields,
    organization_update_with_fields,
    user_create_with_fields,
    user_fields_set,
    user_update_with_fields,
    users_csv_parse_with_fields,
    users_import_with_fields,
)

from ..factories import AgentFactory, TopicFactory

pytestmark = pytest.mark.django_db


def _agent(cast, *keys):
    return AgentFactory(department=cast.dept_a, permissions=list(keys))


@pytest.fixture
def user_fields(db):
    form = CustomForm.objects.create(name="Contact information", scope=CustomForm.Scope.USER)
    CustomField.objects.create(form=form, name="badge", label="Badge number", required=True)
    CustomField.objects.create(
        form=form, name="plan", label="Plan", kind="choice", choices="basic\npro"
    )
    CustomField.objects.create(form=form, name="secret", label="Secret", client_visible=False)
    return form


@pytest.fixture
def org_fields(db):
    form = CustomForm.objects.create(name="Organization info", scope=CustomForm.Scope.ORGANIZATION)
    CustomField.objects.create(form=form, name="tier", label="Tier", kind="choice", choices="a\nb")
    return form


def _values(owner) -> dict[str, str]:
    return {v.field.name: v.value for v in owner.field_values.select_related("field")}


# --- users ------------------------------------------------------------------------------------


def test_a_user_is_created_with_their_field_values(cast, user_fields):
    user = user_create_with_fields(
        actor=_agent(cast, "user.create"),
        email="dan@x.test",
        name="Dan",
        custom_fields={"badge": "B-7", "plan": "pro"},
    )

    assert _values(user) == {"badge": "B-7", "plan": "pro"}


def test_creating_without_a_required_field_writes_no_user(cast, user_fields):
    with pytest.raises(ValidationFailed) as caught:
        user_create_with_fields(
            actor=_agent(cast, "user.create"), email="dan@x.test", custom_fields={"plan": "pro"}
        )

    assert caught.value.fields == {"badge": ["This field is required."]}
    assert not User.objects.filter(email="dan@x.test").exists()
    assert not UserFieldValue.objects.exists()


def test_a_bad_value_refuses_the_whole_update(cast, user_fields):
    alice = cast.alice
    user_fields_set(actor=cast.admin, user=alice, values={"badge": "B-1"})

    with pytest.raises(ValidationFailed) as caught:
        user_update_with_fields(
            actor=_agent(cast, "user.edit"),
            user=alice,
            data={"name": "Renamed"},
            custom_fields={"badge": "B-2", "plan": "gold"},
        )

    assert caught.value.fields == {"plan": ["Choose one of: basic, pro."]}
    alice.refresh_from_db()
    assert alice.name != "Renamed"
    assert _values(alice) == {"badge": "B-1"}


def test_an_update_checks_only_the_fields_given(cast, user_fields):
    user_update_with_fields(
        actor=_agent(cast, "user.edit"),
        user=cast.alice,
        data={"name": "Alice"},
        custom_fields={"plan": "basic"},
    )
    user_update_with_fields(
        actor=_agent(cast, "user.edit"),
        user=cast.alice,
        data={"name": "Alice"},
        custom_fields={"plan": "pro"},
    )

    assert _values(cast.alice) == {"plan": "pro"}
    assert UserFieldValue.objects.filter(user=cast.alice).count() == 1


def test_an_unknown_field_is_refused(cast, user_fields):
    with pytest.raises(ValidationFailed) as caught:
        user_fields_set(actor=cast.admin, user=cast.alice, values={"shoe_size": "44"})

    assert caught.value.fields == {"shoe_size": ["No such field."]}
    assert not UserFieldValue.objects.exists()


def test_changing_values_needs_user_edit(cast, user_fields):
    with pytest.raises(PermissionRefused):
        user_fields_set(actor=_agent(cast, "user.dir"), user=cast.alice, values={"plan": "pro"})

    assert not UserFieldValue.objects.exists()


def test_a_client_fills_only_the_fields_clients_see(cast, user_fields):
    alice = cast.alice
    client_profile_update_with_fields(
        actor=alice, name="Alice A", timezone="UTC", custom_fields={"badge": "A-1", "plan": ""}
    )
    assert _values(alice) == {"badge": "A-1", "plan": ""}

    with pytest.raises(ValidationFailed) as caught:
        client_profile_update_with_fields(
            actor=alice, name="Changed", timezone="UTC", custom_fields={"secret": "x"}
        )

    assert caught.value.fields == {"secret": ["No such field."]}
    alice.refresh_from_db()
    assert alice.name == "Alice A"


def test_an_agent_cannot_use_the_client_profile(cast, user_fields):
    with pytest.raises(PermissionRefused):
        client_profile_update_with_fields(
            actor=cast.agent_a, name="X", timezone="UTC", custom_fields={"badge": "1"}
        )


# --- organizations -----------------------------------------------------------------------------


def test_an_organization_is_created_and_changed_with_its_values(cast, org_fields):
    agent = _agent(cast, "org.create", "org.edit")
    org = organization_create_with_fields(actor=agent, name="Initech", custom_fields={"tier": "a"})
    assert _values(org) == {"tier": "a"}

    organization_update_with_fields(
        actor=agent, organization=org, data={"name": "Initech"}, custom_fields={"tier": "b"}
    )
    assert _values(org) == {"tier": "b"}


def test_a_bad_organization_value_creates_nothing(cast, org_fields):
    with pytest.raises(ValidationFailed) as caught:
        organization_create_with_fields(
            actor=_agent(cast, "org.create"), name="Initech", custom_fields={"tier": "z"}
        )

    assert caught.value.fields == {"tier": ["Choose one of: a, b."]}
    assert not Organization.objects.filter(name="Initech").exists()
    assert not OrganizationFieldValue.objects.exists()


def test_organization_values_need_org_edit(cast, org_fields):
    with pytest.raises(PermissionRefused):
        organization_update_with_fields(
            actor=_agent(cast, "user.edit"),
            organization=cast.acme,
            data={"name": "Acme"},
            custom_fields={"tier": "a"},
        )
    assert not OrganizationFieldValue.objects.exists()


# --- CSV import ----------------------------------------------------------------------------------


def test_a_column_named_by_a_field_name_or_label_fills_it(cast, user_fields):
    text = "email,Badge Number,PLAN\nann@x.test,B-9,pro\nben@x.test,B-10,\n"

    result = users_import_with_fields(actor=_agent(cast, "user.create"), text=text)

    ann, ben = result.created
    assert _values(ann) == {"badge": "B-9", "plan": "pro"}
    assert _values(ben) == {"badge": "B-10", "plan": ""}


def test_a_bad_value_is_an_error_of_its_row(cast, user_fields):
    text = "email,badge,plan\nann@x.test,B-9,gold\nben@x.test,,basic\ncid@x.test,B-3,basic\n"

    rows = users_csv_parse_with_fields(text)
    assert [r.errors for r in rows] == [
        ["Plan: Choose one of: basic, pro."],
        ["Badge number: This field is required."],
        [],
    ]
    with pytest.raises(ValidationFailed):
        users_import_with_fields(actor=_agent(cast, "user.create"), text=text)
    assert not User.objects.filter(email__in=["ann@x.test", "cid@x.test"]).exists()

    result = users_import_with_fields(
        actor=_agent(cast, "user.create"), text=text, skip_invalid=True
    )
    assert [u.email for u in result.created] == ["cid@x.test"]
    assert _values(result.created[0]) == {"badge": "B-3", "plan": "basic"}


def test_a_column_naming_no_field_is_still_refused(cast, user_fields):
    with pytest.raises(ValidationFailed) as caught:
        users_csv_parse_with_fields("email,shoe size\nann@x.test,44\n")
    assert caught.value.code == "csv_unknown_columns"


# --- scopes ---------------------------------------------------------------------------------------


def test_only_ticket_forms_are_asked_by_topic(cast, user_fields):
    topic = TopicFactory()
    user_fields.topics.add(topic)  # the admin refuses this; the reads ignore it anyway
    ticket_form = CustomForm.objects.create(name="Repair")
    ticket_form.topics.add(topic)
    CustomField.objects.create(form=ticket_form, name="serial", label="Serial")

    assert [f.name for f in fields_for_topic(topic)] == ["serial"]


def test_two_user_fields_cannot_share_a_name(user_fields):
    other = CustomForm.objects.create(name="More contact info", scope=CustomForm.Scope.USER)
    twin = CustomField(form=other, name="badge", label="Another badge")

    with pytest.raises(ValidationError) as caught:
        twin.full_clean()
    assert "name" in caught.value.message_dict

    ticket_form = CustomForm.objects.create(name="Repair")
    CustomField(form=ticket_form, name="badge", label="Badge").full_clean()  # tickets: as before


def test_merging_users_keeps_the_kept_values_and_takes_the_missing_ones(cast, user_fields):
    from tickets.services.people import user_merge

    keep, merge = cast.alice, cast.alice_colleague
    user_fields_set(actor=cast.admin, user=keep, values={"badge": "K-1", "plan": ""})
    user_fields_set(actor=cast.admin, user=merge, values={"badge": "M-1", "plan": "pro"})

    user_merge(actor=cast.admin, keep=keep, merge=merge)

    assert _values(keep) == {"badge": "K-1", "plan": "pro"}
    assert UserFieldValue.objects.count() == 2


def test_changed_field_values_are_in_the_audit_log(cast, user_fields):
    from accounts.models import AuditEntry
    from tickets.services.people_fields import user_update_with_fields

    admin = cast.admin
    user_update_with_fields(
        actor=admin, user=cast.alice, data={}, custom_fields={"badge": "A-1", "plan": "pro"}
    )
    user_update_with_fields(actor=admin, user=cast.alice, data={}, custom_fields={"plan": "basic"})
    user_update_with_fields(actor=admin, user=cast.alice, data={}, custom_fields={"plan": "basic"})

    entries = list(
        AuditEntry.objects.filter(action="account.updated", target_id=str(cast.alice.pk))
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert entries == [
        {"fields.badge": [None, "A-1"], "fields.plan": [None, "pro"]},
        {"fields.plan": ["pro", "basic"]},
    ]  # an unchanged value writes nothing
