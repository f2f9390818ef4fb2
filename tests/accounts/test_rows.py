"""accounts.rows: hot lookups written once, rows built exactly as the ORM builds them."""

import time_machine
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

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


def _orm_statement(obj) -> tuple[str, tuple]:
    """What Django's SQLInsertCompiler writes for saving `obj` as a new row."""
    from django.db.models.sql import InsertQuery

    meta = type(obj)._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using="default")
    compiler.returning_fields = meta.db_returning_fields
    [(sql, params)] = compiler.as_sql()
    return sql, tuple(params)


def _saved_statement(obj) -> tuple[str, tuple]:
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, tuple(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        obj.save()
    [statement] = statements
    return statement


def test_an_insert_is_the_statement_the_orm_writes(cast):
    """Given new rows of the models that take InsertWrittenOnce, when saved, then the
    statement and its parameters are those Django's compiler writes for them, and the
    instances equal what the ORM reads back."""
    from threads.models import Thread, ThreadEntry, ThreadEvent

    with time_machine.travel(timezone.now(), tick=False):  # auto_now_add: the same time
        thread = Thread()
        assert _saved_statement(thread) == _orm_statement(Thread())
        assert thread.pk and not thread._state.adding and thread._state.db == "default"
        new = {"thread": thread, "kind": "message", "body": "Hi", "recipients": {"to": ["a@b.c"]}}
        entry = ThreadEntry(**new)
        sql, params = _saved_statement(entry)
        expected_sql, expected_params = _orm_statement(ThreadEntry(**new))
        assert sql == expected_sql
        assert [str(p) for p in params] == [str(p) for p in expected_params]  # Json adapters
    event = ThreadEvent.objects.create(
        thread=thread, kind="created", actor=cast.agent_a, data={"n": 1}
    )
    assert every_field(event) == every_field(ThreadEvent.objects.get(pk=event.pk))
    assert every_field(entry) == every_field(ThreadEntry.objects.get(pk=entry.pk))


def test_an_expression_is_left_to_the_orm(db):
    from django.db.models import Value
    from django.db.models.functions import Upper

    from threads.models import Thread, ThreadEntry

    thread = Thread.objects.create()
    entry = ThreadEntry(thread=thread, kind="note", body="Hi", title=Upper(Value("loud")))
    entry.save()
    assert ThreadEntry.objects.get(pk=entry.pk).title == "LOUD"
