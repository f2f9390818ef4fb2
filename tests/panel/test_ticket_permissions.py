"""Every ticket action: shown only with its permission, refused by the server without it,
and 404 on every panel URL of a ticket the agent may not see."""

import pytest

from threads.models import Attachment
from tickets import services
from tickets.models import Ticket

from ..factories import (
    AgentFactory,
    SLAFactory,
    TeamFactory,
    TopicFactory,
    attachment,
    open_ticket,
    priority,
    role,
    status,
)
from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _posts(cast, ticket, other):
    """(url, data) of every state-changing POST of the ticket view, with valid input."""
    team, topic, sla = TeamFactory(), TopicFactory(), SLAFactory()
    n = ticket.number
    v = str(ticket.version)
    return {
        "claim": (f"/scp/tickets/{n}/claim/", {}),
        "release": (f"/scp/tickets/{n}/release/", {"version": v}),
        "assign": (f"/scp/tickets/{n}/do/assign/", {"agent": cast.agent_a.pk, "version": v}),
        "assignee": (f"/scp/tickets/{n}/do/assignee/", {"agent": cast.agent_a.pk, "version": v}),
        "team": (f"/scp/tickets/{n}/do/team/", {"team": team.pk, "version": v}),
        "topic": (f"/scp/tickets/{n}/do/topic/", {"topic": topic.pk, "version": v}),
        "sla": (f"/scp/tickets/{n}/do/sla/", {"sla": sla.pk, "version": v}),
        "fields": (f"/scp/tickets/{n}/do/fields/", {"version": v}),
        "transfer": (f"/scp/tickets/{n}/do/transfer/", {"department": cast.dept_b.pk}),
        "refer": (f"/scp/tickets/{n}/do/refer/", {"department": cast.dept_b.pk}),
        "status": (f"/scp/tickets/{n}/do/status/", {"status": status("Closed").pk}),
        "priority": (f"/scp/tickets/{n}/do/priority/", {"priority": priority("High").pk}),
        "due": (f"/scp/tickets/{n}/do/due/", {"due_at": "2099-01-01T10:00"}),
        "answered": (f"/scp/tickets/{n}/do/answered/", {"answered": "1"}),
        "edit": (
            f"/scp/tickets/{n}/do/edit/",
            {"subject": "New subject", "requester": ticket.requester.email},
        ),
        "merge": (f"/scp/tickets/{n}/do/merge/", {"numbers": other.number}),
        "link": (f"/scp/tickets/{n}/do/link/", {"numbers": other.number}),
        "collaborator": (
            f"/scp/tickets/{n}/do/collaborator/",
            {"email": cast.bob.email, "role": "cc"},
        ),
        "reply": (f"/scp/tickets/{n}/reply/", {"body": "Hello", "version": v}),
        "delete": (f"/scp/tickets/{n}/delete/", {}),
    }


# what the page shows for each action (a form posting to its URL, or the link loading the
# form of a sidebar property or a dialog)
MARKERS = {
    "claim": "/claim/",
    "release": "/release/",
    "assignee": "/do/assignee/",
    "team": "/do/team/",
    "topic": "/do/topic/",
    "sla": "/do/sla/",
    "transfer": "/do/transfer/",
    "refer": "/do/refer/",
    "status": "/do/status/",
    "priority": "/do/priority/",
    "due": "/do/due/",
    "answered": "/do/answered/",
    "edit": "/do/edit/",
    "merge": "/do/merge/",
    "link": "/do/link/",
    "collaborator": "/do/collaborator/",
    "reply": "/reply/",
    "delete": "/delete/",
}


PERMS = {
    "claim": "ticket.assign",
    "release": "ticket.release",
    "assign": "ticket.assign",
    "assignee": "ticket.assign",
    "team": "ticket.assign",
    "topic": "ticket.edit",
    "sla": "ticket.edit",
    "fields": "ticket.edit",
    "transfer": "ticket.transfer",
    "refer": "ticket.refer",
    "status": "ticket.close",
    "priority": "ticket.edit",
    "due": "ticket.edit",
    "answered": "ticket.markanswered",
    "edit": "ticket.edit",
    "merge": "ticket.merge",
    "link": "ticket.link",
    "collaborator": "ticket.edit",
    "reply": "ticket.reply",
    "delete": "ticket.delete",
}


@pytest.fixture
def view_only(cast):
    return AgentFactory(username="viewer", department=cast.dept_a, role=role("View only"))


def test_an_all_access_agent_is_shown_every_action(cast, ticket_a):
    page = signed_in(cast.admin).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    for action, marker in MARKERS.items():
        if action == "release":
            continue  # only once assigned
        assert f"/scp/tickets/{ticket_a.number}{marker}" in page, action
    assert f"/scp/tickets/{ticket_a.number}/note/" in page


def test_release_is_shown_once_the_ticket_is_assigned(cast, ticket_a, as_agent_a):
    url = f"/scp/tickets/{ticket_a.number}/release/"
    assert url not in as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    services.ticket_assign(actor=cast.admin, ticket=ticket_a, agent=cast.agent_a)
    assert url in as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()


def test_a_view_only_agent_sees_no_action_but_the_internal_note(view_only, ticket_a):
    page = signed_in(view_only).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    for action, marker in MARKERS.items():
        assert f"/scp/tickets/{ticket_a.number}{marker}" not in page, action
    assert f"/scp/tickets/{ticket_a.number}/note/" in page
    assert "does not allow replies" in page


@pytest.mark.parametrize("action", sorted(PERMS))
def test_the_server_refuses_each_action_without_its_permission(
    action, cast, view_only, ticket_a, nothing_written
):
    other = open_ticket(cast.alice, department=cast.dept_a, subject="Other")
    if action == "release":
        services.ticket_assign(actor=cast.admin, ticket=ticket_a, agent=cast.agent_a)
    ticket_a = Ticket.objects.get(pk=ticket_a.pk)
    url, data = _posts(cast, ticket_a, other)[action]
    as_view_only = signed_in(view_only)
    with nothing_written():
        response = as_view_only.post(url, data)
    assert response.status_code == 403, (action, response.status_code)
    assert f"Your role in Support does not allow {PERMS[action]}." in response.content.decode()


def test_a_limited_access_agent_sees_what_their_role_allows(cast, ticket_a):
    limited = AgentFactory(username="limited", department=cast.dept_a, role=role("Limited Access"))
    page = signed_in(limited).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    shown = {a for a, m in MARKERS.items() if f"/scp/tickets/{ticket_a.number}{m}" in page}
    # Limited Access: create, merge, link, assign, release, transfer, refer, reply;
    # "status" shows because ticket.create allows moves between open statuses.
    assert shown == {
        "claim",
        "assignee",
        "team",
        "transfer",
        "refer",
        "merge",
        "link",
        "reply",
        "status",
    }


def test_status_choices_are_only_the_legal_moves_the_agent_may_make(cast, ticket_a):
    limited = AgentFactory(username="limited", department=cast.dept_a, role=role("Limited Access"))
    url = f"/scp/tickets/{ticket_a.number}/do/status/"
    # the panel loads its form when opened (htmx); without JavaScript it is a page
    form = signed_in(limited).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert form.lstrip().startswith("<form")
    assert ">Closed<" not in form and ">Resolved<" not in form and ">Deleted<" not in form
    assert ">Awaiting customer<" in form
    admin_page = signed_in(cast.admin).get(url)
    assert "<html" in admin_page.content.decode()
    admin_form = admin_page.content.decode().split(f'action="{url}"')[1].split("</form>")[0]
    assert ">Closed<" in admin_form and ">Open<" not in admin_form  # the current one


def _every_ticket_url(ticket, cast):
    n = ticket.number
    gets = [
        f"/scp/tickets/{n}/",
        f"/scp/tickets/{n}/do/assign/",
        f"/scp/tickets/{n}/print/",
        f"/scp/tickets/{n}/canned/1/",
    ]
    posts = [url for url, _ in _posts(cast, ticket, ticket).values()] + [
        f"/scp/tickets/{n}/note/",
        f"/scp/tickets/{n}/lock/",
        f"/scp/tickets/{n}/unlock/",
        f"/scp/tickets/{n}/draft/reply/",
        f"/scp/tickets/{n}/draft/note/",
        f"/scp/tickets/{n}/links/{n}/unlink/",
        f"/scp/tickets/{n}/collaborators/{cast.alice.pk}/remove/",
    ]
    return gets, posts


def test_every_ticket_url_answers_404_for_a_ticket_of_another_department(
    cast, ticket_a, nothing_written
):
    gets, posts = _every_ticket_url(ticket_a, cast)
    bea = signed_in(cast.agent_b)
    with nothing_written():
        for url in gets:
            assert bea.get(url).status_code == 404, url
        for url in posts:
            assert bea.post(url, {"body": "x", "numbers": ticket_a.number}).status_code == 404, url


def test_attachments_download_through_the_visibility_check(cast):
    ticket = open_ticket(
        cast.alice, department=cast.dept_a, files=[attachment("secret.txt", b"top secret")]
    )
    att = Attachment.objects.get(entry__thread_id=ticket.thread_id)
    url = f"/scp/tickets/{ticket.number}/attachments/{att.pk}/secret.txt"
    response = signed_in(cast.agent_a).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"top secret"
    assert response["Content-Disposition"] == 'attachment; filename="secret.txt"'
    assert signed_in(cast.agent_b).get(url).status_code == 404
    # an attachment id of another ticket, through a ticket the agent may see
    mine = open_ticket(cast.bob, department=cast.dept_b)
    assert (
        signed_in(cast.agent_b)
        .get(f"/scp/tickets/{mine.number}/attachments/{att.pk}/secret.txt")
        .status_code
        == 404
    )


def test_an_agent_who_sees_a_ticket_through_a_team_may_open_it(cast, ticket_b):
    team = TeamFactory(members=[cast.agent_a])
    services.ticket_assign(actor=cast.admin, ticket=ticket_b, team=team)
    assert signed_in(cast.agent_a).get(f"/scp/tickets/{ticket_b.number}/").status_code == 200


def test_clients_and_strangers_cannot_use_the_panel(cast, ticket_a):
    assert signed_in(cast.alice).get(f"/scp/tickets/{ticket_a.number}/").status_code == 403
    anonymous = signed_in.__globals__["Client"]()
    response = anonymous.get(f"/scp/tickets/{ticket_a.number}/")
    assert response.status_code == 302
    assert response["Location"] == f"/scp/login/?next=%2Fscp%2Ftickets%2F{ticket_a.number}%2F"
