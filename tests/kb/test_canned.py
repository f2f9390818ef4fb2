import pytest

from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from helpdesk.kb.selectors import canned_visible_to
from helpdesk.kb.services import canned_create, canned_delete, canned_render, canned_update

from ..factories import AgentFactory, attachment, open_ticket, role


def test_agents_with_canned_manage_create_for_their_department(cast, nothing_written):
    canned = canned_create(
        actor=cast.agent_a,
        title="Reset steps",
        body="<p>Hi %{recipient.name}, ticket %{ticket.number}</p><script>x</script>",
        department=cast.dept_a,
        files=[attachment("guide.txt", b"step 1")],
    )
    assert canned.body_html == "<p>Hi %{recipient.name}, ticket %{ticket.number}</p>"
    assert canned.attachments.get().filename == "guide.txt"
    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        canned_create(actor=cast.agent_a, title="Other", body="x", department=cast.dept_b)
    assert str(exc.value) == "Your role in Billing does not allow canned.manage."
    limited = AgentFactory(department=cast.dept_a, role=role("Limited Access"))
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        canned_update(actor=limited, canned=canned, title="Mine now")
    assert refusal.value.code == "permission_denied"
    with nothing_written(), pytest.raises(PermissionRefused) as refusal2:
        canned_create(actor=cast.alice, title="Client", body="x")
    assert refusal2.value.code == "permission_denied"


def test_titles_are_unique_per_department_and_required(cast, nothing_written):
    canned_create(actor=cast.agent_a, title="Same", body="a", department=cast.dept_a)
    with nothing_written(), pytest.raises(Conflict) as refusal:
        canned_create(actor=cast.agent_a, title="Same", body="b", department=cast.dept_a)
    assert refusal.value.code == "canned_exists"
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        canned_create(actor=cast.agent_a, title=" ", body="<p></p>", department=cast.dept_a)
    assert exc.value.fields == {
        "title": ["This field is required."],
        "body": ["This field is required."],
    }


def test_agents_see_global_and_their_departments_canned(cast):
    glob = canned_create(actor=cast.admin, title="Global", body="g")
    a = canned_create(actor=cast.admin, title="A", body="a", department=cast.dept_a)
    b = canned_create(actor=cast.admin, title="B", body="b", department=cast.dept_b)
    assert set(canned_visible_to(agent=cast.agent_a)) == {glob, a}
    assert set(canned_visible_to(agent=cast.agent_b)) == {glob, b}
    assert set(canned_visible_to(agent=cast.alice)) == set()
    canned_update(actor=cast.admin, canned=a, is_active=False)
    assert set(canned_visible_to(agent=cast.agent_a)) == {glob}
    canned_delete(actor=cast.admin, canned=glob)
    assert set(canned_visible_to(agent=cast.agent_a)) == set()


def test_rendering_fills_variables_escaped(cast):
    cast.alice.name = "<Alice & Co>"
    cast.alice.save()
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Printer")
    canned = canned_create(
        actor=cast.admin,
        title="T",
        body="<p>%{recipient.name} #%{ticket.number} %{staff.name} %{unknown}</p>",
    )
    out = canned_render(canned=canned, ticket=ticket, agent=cast.agent_a)
    agent = cast.agent_a.display_name
    assert out == f"<p>&lt;Alice &amp; Co&gt; #{ticket.number} {agent} %{{unknown}}</p>"
