"""accounts.rows: hot lookups written once, rows built exactly as the ORM builds them."""

from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, User
from accounts.rows import RowQuery
from tickets.models import HelpdeskSettings

from ..factories import AgentFactory, ClientFactory

USER_AND_ROLE = RowQuery(
    [(User, "u"), (Role, "r")],
    lambda q: (
        f"FROM {q.table(User)} u LEFT OUTER JOIN {q.table(Role)} r"
        f" ON r.{q.pk(Role)} = u.{q.column(User, 'role')} WHERE u.{q.pk(User)} = %s"
    ),
)


def every_field(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_instances_equal_what_the_orm_loads(cast):
    agent = AgentFactory(username="rows", permissions=["user.create"], signature="Best,\nRows")
    user, role = USER_AND_ROLE.one([agent.pk])
    assert every_field(user) == every_field(User.objects.get(pk=agent.pk))
    assert every_field(role) == every_field(Role.objects.get(pk=agent.role_id))
    assert not user._state.adding and user._state.db == "default"
    user.name = "Saved through the instance"
    user.save()
    assert User.objects.get(pk=agent.pk).name == "Saved through the instance"
    assert model_to_dict(user)["permissions"] == ["user.create"]


def test_an_empty_side_of_a_left_join_is_none_and_no_row_is_none(cast):
    client = ClientFactory(email="norole@example.org")
    user, role = USER_AND_ROLE.one([client.pk])
    assert user == client and role is None
    assert USER_AND_ROLE.one([10**9]) is None


def test_the_settings_row_is_one_statement(db):
    HelpdeskSettings.load()
    with CaptureQueriesContext(connection) as queries:
        config = HelpdeskSettings.load()
    assert len(queries) == 1
    assert every_field(config) == every_field(HelpdeskSettings.objects.get(pk=1))


def test_a_missing_settings_row_is_created(db):
    HelpdeskSettings.objects.all().delete()
    assert HelpdeskSettings.load().pk == 1
    assert HelpdeskSettings.objects.count() == 1
