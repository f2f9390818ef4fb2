"""Clients and organizations as agents manage them: CSV import (valid, invalid, mixed,
skip invalid), lock and unlock, password reset, further addresses, organizations with
an account manager and primary contacts."""

import pytest
from django.contrib.auth import authenticate
from django.core import mail

from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import Organization, User
from accounts.services import (
    organization_create,
    organization_delete,
    organization_update,
    user_create,
    user_lock,
    user_send_password_reset,
    user_update,
)
from accounts.services_import import users_csv_parse, users_import

from ..factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _agent(cast, *keys):
    return AgentFactory(department=cast.dept_a, permissions=list(keys))


# --- CSV import ---------------------------------------------------------------------------

VALID = "email,name,phone,organization\nann@x.test,Ann,123,Acme\nben@y.test,Ben,,\n"


def test_a_valid_file_is_imported(cast):
    result = users_import(actor=_agent(cast, "user.create"), text=VALID)

    assert [u.email for u in result.created] == ["ann@x.test", "ben@y.test"]
    ann = User.objects.get(email="ann@x.test")
    assert (ann.name, ann.phone, ann.organization) == ("Ann", "123", cast.acme)
    assert ann.has_usable_password() is False
    assert result.skipped == []


def test_an_invalid_file_writes_nothing(cast):
    text = "email,name\nnot-an-email,X\nalice@acme.test,Alice again\n"
    with pytest.raises(ValidationFailed) as refused:
        users_import(actor=_agent(cast, "user.create"), text=text)
    assert refused.value.code == "csv_invalid_rows"
    assert [r["line"] for r in refused.value.extra["rows"]] == [2, 3]
    assert User.objects.filter(email="not-an-email").count() == 0


def test_a_mixed_file_writes_nothing_unless_invalid_rows_are_skipped(cast):
    text = (
        "Email,Name,Organization\n"
        "ok1@x.test,One,\n"
        "ok2@x.test,Two,Acme\n"
        "ok1@x.test,Twice,\n"
        "bad@x.test,Bad org,Nowhere Inc\n"
    )
    agent = _agent(cast, "user.create")
    with pytest.raises(ValidationFailed):
        users_import(actor=agent, text=text)
    assert not User.objects.filter(email__in=["ok1@x.test", "ok2@x.test"]).exists()

    result = users_import(actor=agent, text=text, skip_invalid=True)

    assert sorted(u.email for u in result.created) == ["ok1@x.test", "ok2@x.test"]
    assert [(r.line, r.errors) for r in result.skipped] == [
        (4, ["ok1@x.test appears more than once in the file."]),
        (5, ["No organization named Nowhere Inc."]),
    ]
    assert not User.objects.filter(email="bad@x.test").exists()


def test_the_preview_lists_each_rows_errors():
    rows = users_csv_parse("email,name\n,Nobody\nx@y.test," + "n" * 130 + "\n")
    assert rows[0].errors == ["(empty) is not a valid email address."]
    assert rows[1].errors == ["The name is longer than 128 characters."]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("name,phone\nAnn,1\n", "csv_no_email_column"),
        ("email,shoe_size\na@b.test,42\n", "csv_unknown_columns"),
        ("email\n", "csv_empty"),
    ],
)
def test_a_malformed_file_is_refused_as_a_whole(db, text, code):
    with pytest.raises(ValidationFailed) as refused:
        users_csv_parse(text)
    assert refused.value.code == code


def test_import_needs_user_create(cast):
    with pytest.raises(PermissionRefused):
        users_import(actor=_agent(cast, "user.edit"), text=VALID)
    assert not User.objects.filter(email="ann@x.test").exists()


# --- accounts -----------------------------------------------------------------------------


def test_a_locked_client_cannot_sign_in_until_unlocked(cast):
    manager = _agent(cast, "user.manage")
    assert authenticate(username="alice@acme.test", password="secret") == cast.alice

    user_lock(actor=manager, user=cast.alice)
    assert authenticate(username="alice@acme.test", password="secret") is None

    user_lock(actor=manager, user=cast.alice, locked=False)
    assert authenticate(username="alice@acme.test", password="secret") == cast.alice


def test_lock_needs_user_manage_and_a_client(cast):
    with pytest.raises(PermissionRefused):
        user_lock(actor=_agent(cast, "user.edit"), user=cast.alice)
    with pytest.raises(PermissionRefused):
        user_lock(actor=_agent(cast, "user.manage"), user=cast.agent_b)
    cast.alice.refresh_from_db()
    assert cast.alice.is_locked is False


def test_a_password_reset_is_mailed_to_the_client(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert user_send_password_reset(actor=_agent(cast, "user.manage"), user=cast.alice)
    [sent] = mail.outbox
    assert sent.to == ["alice@acme.test"]
    assert "/password-reset/" in sent.body or "reset" in sent.body.lower()


def test_a_reset_for_a_guest_is_refused(cast):
    guest = user_create(actor=cast.admin, email="guest@x.test")
    with pytest.raises(Conflict):
        user_send_password_reset(actor=_agent(cast, "user.manage"), user=guest)
    with pytest.raises(PermissionRefused):
        user_send_password_reset(actor=_agent(cast, "user.edit"), user=cast.alice)
    assert mail.outbox == []


def test_further_addresses_are_replaced_and_may_not_be_someone_elses(cast):
    editor = _agent(cast, "user.edit")
    user_update(actor=editor, user=cast.alice, data={"phone": "555"}, emails=["a2@acme.test"])
    assert list(cast.alice.extra_emails.values_list("email", flat=True)) == ["a2@acme.test"]

    with pytest.raises(Conflict):
        user_update(actor=editor, user=cast.alice, data={}, emails=["bob@globex.test"])
    assert list(cast.alice.extra_emails.values_list("email", flat=True)) == ["a2@acme.test"]


def test_user_edit_is_needed_to_edit(cast):
    with pytest.raises(PermissionRefused):
        user_update(actor=_agent(cast, "user.create"), user=cast.alice, data={"name": "X"})
    cast.alice.refresh_from_db()
    assert cast.alice.name != "X"


# --- organizations --------------------------------------------------------------------------


def test_an_organization_with_an_account_manager_and_switches(cast):
    org = organization_create(
        actor=_agent(cast, "org.create"),
        name="Initech",
        domains=["initech.test"],
        sharing=Organization.Sharing.PRIMARY,
        settings={"manager_agent": cast.agent_a, "auto_assign_manager": True},
    )
    org.refresh_from_db()
    assert (org.manager, org.auto_assign_manager, org.sharing) == (cast.agent_a, True, "primary")
    assert list(org.domains.values_list("domain", flat=True)) == ["initech.test"]


def test_the_account_manager_is_an_agent_or_a_team_not_both(cast):
    team = TeamFactory()
    with pytest.raises(ValidationFailed):
        organization_create(
            actor=cast.admin,
            name="Both",
            settings={"manager_agent": cast.agent_a, "manager_team": team},
        )
    with pytest.raises(ValidationFailed):
        organization_create(actor=cast.admin, name="Client", settings={"manager_agent": cast.bob})
    assert not Organization.objects.filter(name__in=["Both", "Client"]).exists()


def test_primary_contacts_are_members(cast):
    editor = _agent(cast, "org.edit")
    organization_update(
        actor=editor, organization=cast.acme, data={}, primary_contacts=[cast.alice]
    )
    cast.alice.refresh_from_db()
    assert cast.alice.is_primary_contact is True
    with pytest.raises(ValidationFailed):
        organization_update(
            actor=editor, organization=cast.acme, data={}, primary_contacts=[cast.bob]
        )
    organization_update(actor=editor, organization=cast.acme, data={}, primary_contacts=[])
    cast.alice.refresh_from_db()
    assert cast.alice.is_primary_contact is False


def test_org_permissions_are_each_needed(cast):
    with pytest.raises(PermissionRefused):
        organization_create(actor=_agent(cast, "org.edit"), name="Nope")
    with pytest.raises(PermissionRefused):
        organization_update(
            actor=_agent(cast, "org.create"), organization=cast.acme, data={"name": "X"}
        )
    with pytest.raises(PermissionRefused):
        organization_delete(actor=_agent(cast, "org.edit"), organization=cast.acme)
    assert Organization.objects.filter(name="Acme").exists()
    assert not Organization.objects.filter(name="Nope").exists()


def test_deleting_an_organization_keeps_its_members(cast):
    organization_delete(actor=_agent(cast, "org.delete"), organization=cast.acme)
    cast.alice.refresh_from_db()
    assert cast.alice.organization is None
    assert not Organization.objects.filter(name="Acme").exists()


def test_a_new_user_with_further_addresses(cast):
    user = user_create(
        actor=_agent(cast, "user.create"),
        email="new@acme.test",
        name="New",
        organization=cast.acme,
        is_primary_contact=True,
        emails=["new2@acme.test"],
    )
    assert user.is_primary_contact is True
    assert list(user.extra_emails.values_list("email", flat=True)) == ["new2@acme.test"]
