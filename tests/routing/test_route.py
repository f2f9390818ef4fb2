import pytest

from accounts.errors import ValidationFailed
from routing.services import Defaults, reselect_sla_on_transfer, route

from ..factories import (
    AgentFactory,
    DepartmentFactory,
    SLAFactory,
    TeamFactory,
    TopicFactory,
    priority,
    status,
)


def test_precedence_explicit_then_topic_then_department_then_defaults(db):
    default_dept, topic_dept, explicit_dept = (
        DepartmentFactory(),
        DepartmentFactory(),
        DepartmentFactory(),
    )
    dept_sla, default_sla = SLAFactory(), SLAFactory()
    topic_dept.sla = dept_sla
    topic_dept.save()
    defaults = Defaults(
        department=default_dept, sla=default_sla, priority=priority("Normal"), status=status("Open")
    )
    topic = TopicFactory(department=topic_dept, priority=priority("High"))

    r = route(defaults=defaults, topic=topic)
    assert (r.department, r.sla, r.priority.name, r.status.name) == (
        topic_dept,
        dept_sla,
        "High",
        "Open",
    )
    r = route(defaults=defaults, topic=topic, department=explicit_dept, priority=priority("Low"))
    assert (r.department, r.sla, r.priority.name) == (explicit_dept, default_sla, "Low")
    r = route(defaults=defaults)
    assert (r.department, r.sla, r.priority.name, r.topic) == (
        default_dept,
        default_sla,
        "Normal",
        None,
    )


def test_an_inactive_topic_falls_back_to_the_default_topic(db):
    dept, fallback_dept = DepartmentFactory(), DepartmentFactory()
    fallback = TopicFactory(department=fallback_dept)
    inactive = TopicFactory(department=dept, is_active=False)
    r = route(defaults=Defaults(topic=fallback), topic=inactive)
    assert (r.topic, r.department) == (fallback, fallback_dept)


def test_topic_auto_assignment_skips_inactive_targets(db):
    dept = DepartmentFactory()
    agent = AgentFactory(department=dept)
    topic = TopicFactory(
        department=dept, assign_agent=agent, assign_team=TeamFactory(is_active=False)
    )
    r = route(defaults=Defaults(), topic=topic)
    assert (r.agent, r.team) == (agent, None)
    agent.is_active = False
    agent.save()
    assert route(defaults=Defaults(), topic=topic).agent is None


def test_an_inactive_sla_yields_to_the_department_or_default(db):
    dept_sla = SLAFactory()
    dept = DepartmentFactory(sla=dept_sla)
    r = route(defaults=Defaults(), department=dept, sla=SLAFactory(is_active=False))
    assert r.sla == dept_sla


def test_no_department_or_an_inactive_one_is_refused(db, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        route(defaults=Defaults())
    assert exc.value.code == "no_department"
    inactive = DepartmentFactory(is_active=False)
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        route(defaults=Defaults(), department=inactive)
    assert exc.value.code == "inactive_department"


def test_transient_slas_yield_on_transfer(db):
    new_sla = SLAFactory()
    dept = DepartmentFactory(sla=new_sla)
    transient, fixed = SLAFactory(is_transient=True), SLAFactory()
    assert (
        reselect_sla_on_transfer(current=transient, department=dept, defaults=Defaults()) == new_sla
    )
    assert reselect_sla_on_transfer(current=fixed, department=dept, defaults=Defaults()) == fixed
    assert reselect_sla_on_transfer(current=None, department=dept, defaults=Defaults()) == new_sla


def test_departments_and_topics_cannot_be_their_own_ancestors(db):
    from django.core.exceptions import ValidationError

    parent = DepartmentFactory(name="IT")
    child = DepartmentFactory(name="Desk", parent=parent)
    assert child.full_name == "IT / Desk"
    parent.parent = child
    with pytest.raises(ValidationError) as department_cycle:
        parent.clean()
    assert department_cycle.value.message_dict == {
        "parent": ["This would make it its own ancestor."]
    }
    topic = TopicFactory(name="Top")
    sub = TopicFactory(name="Sub", parent=topic)
    assert str(sub) == "Top / Sub"
    topic.parent = sub
    with pytest.raises(ValidationError) as topic_cycle:
        topic.clean()
    assert topic_cycle.value.message_dict == {"parent": ["This would make it its own ancestor."]}
