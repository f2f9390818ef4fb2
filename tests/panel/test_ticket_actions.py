"""Actions from the ticket view: what they change, Post/Redirect/Get, htmx partial answers,
the version check, drafts and the collision lock."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.kb.services import canned_create
from threads.models import Draft, Lock, ThreadEntry, ThreadEvent
from tickets import services
from tickets.models import Ticket

from ..factories import TeamFactory, status
from .conftest import signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def test_claim_redirects_to_the_ticket_after_the_post(as_agent_a, cast, ticket_a):
    response = as_agent_a.post(f"/scp/tickets/{ticket_a.number}/claim/")
    assert response.status_code == 302
    assert response["Location"] == f"/scp/tickets/{ticket_a.number}/"
    assert fresh(ticket_a).assignee == cast.agent_a
    page = as_agent_a.get(response["Location"]).content.decode()
    assert "You claimed this ticket." in page


def test_an_htmx_action_answers_with_the_ticket_region_only(as_agent_a, cast, ticket_a):
    response = as_agent_a.post(f"/scp/tickets/{ticket_a.number}/claim/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ticket"')
    assert 'id="sidebar"' not in html and "<html" not in html
    assert 'hx-swap-oob="true"' in html and "You claimed this ticket." in html


def test_claiming_a_ticket_someone_else_holds_says_who(cast, ticket_a, nothing_written):
    services.ticket_claim(actor=cast.admin, ticket=ticket_a)
    as_agent_a = signed_in(cast.agent_a)
    with nothing_written():
        response = as_agent_a.post(f"/scp/tickets/{ticket_a.number}/claim/")
    assert response.status_code == 409
    assert f"already assigned to {cast.admin}" in response.content.decode()
    assert fresh(ticket_a).assignee == cast.admin


def test_reply_posts_a_response_with_attachments_cc_and_a_status(as_agent_a, cast, ticket_a):
    services.ticket_add_collaborator(actor=cast.admin, ticket=ticket_a, user=cast.bob)
    ticket_a = fresh(ticket_a)
    upload = SimpleUploadedFile("log.txt", b"trace", content_type="text/plain")
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/reply/",
        {
            "body": "We are on it.",
            "version": ticket_a.version,
            "cc": [str(cast.bob.pk)],
            "status": status("Resolved").pk,
            "attachments": [upload],
        },
    )
    assert response.status_code == 302
    entry = ThreadEntry.objects.get(thread_id=ticket_a.thread_id, kind="response")
    assert entry.body_text == "We are on it."
    assert entry.recipients == {"to": [cast.alice.email], "cc": [cast.bob.email]}
    assert [a.filename for a in entry.attachments.all()] == ["log.txt"]
    assert fresh(ticket_a).status.name == "Resolved"


def test_reply_appends_the_signature_when_asked(cast, ticket_a):
    cast.agent_a.signature = "Alex, Support"
    cast.agent_a.save()
    client = signed_in(cast.agent_a)
    client.post(
        f"/scp/tickets/{ticket_a.number}/reply/",
        {"body": "Done.", "version": ticket_a.version, "signature": "mine"},
    )
    entry = ThreadEntry.objects.get(thread_id=ticket_a.thread_id, kind="response")
    assert entry.body_text == "Done.\n\n-- \nAlex, Support"


def test_a_reply_based_on_an_old_version_is_kept_and_the_agent_is_warned(
    as_agent_a, cast, ticket_a, nothing_written
):
    old_version = ticket_a.version
    services.ticket_set_priority(
        actor=cast.admin,
        ticket=ticket_a,
        priority=ticket_a.priority.__class__.objects.get(name="High"),
    )
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/reply/",
            {"body": "My careful answer", "version": old_version},
        )
    assert response.status_code == 412
    html = response.content.decode()
    assert "The ticket changed while you were writing" in html
    assert "My careful answer" in html  # the text is kept in the form
    assert f'name="version" value="{fresh(ticket_a).version}"' in html
    assert not ThreadEntry.objects.filter(thread_id=ticket_a.thread_id, kind="response").exists()
    # submitting again, after reading, goes through
    again = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/reply/",
        {"body": "My careful answer", "version": fresh(ticket_a).version},
    )
    assert again.status_code == 302
    assert ThreadEntry.objects.filter(thread_id=ticket_a.thread_id, kind="response").count() == 1


def test_an_empty_reply_is_refused_with_a_message_and_nothing_written(
    as_agent_a, ticket_a, nothing_written
):
    events = ThreadEvent.objects.filter(thread_id=ticket_a.thread_id).count()
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/reply/", {"body": "  ", "version": ticket_a.version}
        )
    assert response.status_code == 422
    assert "The message is empty." in response.content.decode()
    assert ThreadEvent.objects.filter(thread_id=ticket_a.thread_id).count() == events


def test_a_note_is_internal_and_clears_the_note_draft(as_agent_a, cast, ticket_a):
    as_agent_a.post(f"/scp/tickets/{ticket_a.number}/draft/note/", {"body": "half a thought"})
    assert Draft.objects.get(agent=cast.agent_a, namespace=f"ticket.{ticket_a.pk}.note").body
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/note/", {"title": "Call", "body": "Phoned her."}
    )
    assert response.status_code == 302
    note = ThreadEntry.objects.get(thread_id=ticket_a.thread_id, kind="note")
    assert (note.title, note.body_text) == ("Call", "Phoned her.")
    assert not Draft.objects.filter(
        agent=cast.agent_a, namespace=f"ticket.{ticket_a.pk}.note"
    ).exists()


def test_the_reply_draft_is_saved_as_you_type_and_shown_again(as_agent_a, cast, ticket_a):
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/draft/reply/", {"body": "Dear Alice,"}, **HTMX
    )
    assert response.status_code == 200
    assert "Draft saved" in response.content.decode()
    assert "You hold the lock" in response.content.decode()
    page = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert "Dear Alice,</textarea>" in page


def test_typing_a_reply_takes_the_lock_and_another_agent_is_told(cast, ticket_a, nothing_written):
    signed_in(cast.agent_a).post(f"/scp/tickets/{ticket_a.number}/draft/reply/", {"body": "x"})
    lock = Lock.objects.get(thread_id=ticket_a.thread_id)
    assert lock.agent == cast.agent_a
    colleague = signed_in(cast.admin)
    page = colleague.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert f"{cast.agent_a.display_name} is replying" in page
    # the manager's or admin's reply is refused while the lock holds
    as_manager_a = signed_in(cast.manager_a)
    with nothing_written():
        response = as_manager_a.post(
            f"/scp/tickets/{ticket_a.number}/reply/",
            {"body": "Me too", "version": ticket_a.version},
        )
    assert response.status_code == 409
    assert "is working on ticket" in response.content.decode()
    assert not ThreadEntry.objects.filter(thread_id=ticket_a.thread_id, kind="response").exists()


def test_only_a_manager_or_admin_may_break_a_lock(cast, ticket_a, nothing_written):
    signed_in(cast.admin).post(f"/scp/tickets/{ticket_a.number}/lock/")
    as_agent_a = signed_in(cast.agent_a)
    with nothing_written():
        refused = as_agent_a.post(f"/scp/tickets/{ticket_a.number}/lock/", {"break": "1"}, **HTMX)
    assert refused.status_code == 409
    assert Lock.objects.get(thread_id=ticket_a.thread_id).agent == cast.admin
    taken = signed_in(cast.manager_a).post(
        f"/scp/tickets/{ticket_a.number}/lock/", {"break": "1"}, **HTMX
    )
    assert taken.status_code == 200
    assert Lock.objects.get(thread_id=ticket_a.thread_id).agent == cast.manager_a


def test_transfer_out_of_sight_lands_on_the_queue(as_agent_a, cast, ticket_a):
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/do/transfer/",
        {"department": cast.dept_b.pk, "version": ticket_a.version},
    )
    assert response.status_code == 302
    assert response["Location"] == "/scp/"
    assert fresh(ticket_a).department == cast.dept_b


def test_an_invalid_action_form_writes_nothing(as_agent_a, ticket_a, nothing_written):
    before = fresh(ticket_a).version
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/do/transfer/", {"department": "x"}
        )
    assert response.status_code == 422
    assert fresh(ticket_a).version == before


def test_assign_edit_priority_due_link_merge_and_collaborators(
    as_agent_a, cast, ticket_a, nothing_written
):
    team = TeamFactory()
    n = ticket_a.number
    as_agent_a.post(f"/scp/tickets/{n}/do/assign/", {"agent": cast.manager_a.pk, "team": team.pk})
    t = fresh(ticket_a)
    assert (t.assignee, t.team) == (cast.manager_a, team)
    as_agent_a.post(
        f"/scp/tickets/{n}/do/edit/", {"subject": "Paper jam", "requester": cast.alice.email}
    )
    assert fresh(ticket_a).subject == "Paper jam"
    as_agent_a.post(f"/scp/tickets/{n}/do/due/", {"due_at": "2099-05-01T09:30"})
    assert fresh(ticket_a).due_at.year == 2099
    other = services.ticket_open(
        actor=cast.alice,
        new=services.NewTicket(
            requester=cast.alice, subject="Same jam", body="b", department=cast.dept_a
        ),
    )
    as_agent_a.post(f"/scp/tickets/{n}/do/link/", {"numbers": other.number})
    page = as_agent_a.get(f"/scp/tickets/{n}/").content.decode()
    assert f"/scp/tickets/{other.number}/" in page
    as_agent_a.post(f"/scp/tickets/{n}/links/{other.number}/unlink/")
    as_agent_a.post(f"/scp/tickets/{n}/do/merge/", {"numbers": other.number})
    assert fresh(other).merged_into_id == ticket_a.pk
    as_agent_a.post(f"/scp/tickets/{n}/do/collaborator/", {"email": cast.bob.email, "role": "cc"})
    page = as_agent_a.get(f"/scp/tickets/{n}/").content.decode()
    assert f"&lt;{cast.bob.email}&gt; (Cc)" in page
    # a new address would create a client: that needs user.create, which alex lacks
    with nothing_written():
        refused = as_agent_a.post(
            f"/scp/tickets/{n}/do/collaborator/", {"email": "new@person.test", "role": "cc"}
        )
    assert refused.status_code == 403
    assert "You need the user.create permission for this." in refused.content.decode()


def test_merging_an_invisible_ticket_reports_not_found(
    as_agent_a, cast, ticket_a, ticket_b, nothing_written
):
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/do/merge/", {"numbers": ticket_b.number}
        )
    assert response.status_code == 409
    assert f"Ticket #{ticket_b.number} was not found." in response.content.decode()
    assert fresh(ticket_b).merged_into_id is None


def test_delete_moves_to_the_trash_and_closing_via_status(cast, ticket_a):
    admin = signed_in(cast.admin)
    admin.post(f"/scp/tickets/{ticket_a.number}/do/status/", {"status": status("Closed").pk})
    assert fresh(ticket_a).state == "closed"
    admin.post(f"/scp/tickets/{ticket_a.number}/delete/")
    assert fresh(ticket_a).state == "deleted"


def test_canned_responses_are_filled_for_the_ticket(as_agent_a, cast, ticket_a, nothing_written):
    canned = canned_create(actor=cast.admin, title="Hi", body="<p>Hello %{recipient.name}</p>")
    response = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/canned/{canned.pk}/")
    assert response.content.decode() == f"Hello {cast.alice.display_name}"
    # without JavaScript: the Insert button puts it in the form, nothing is posted
    with nothing_written():
        page = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/reply/",
            {
                "body": "Start",
                "canned": canned.pk,
                "insert_canned": "1",
                "version": ticket_a.version,
            },
        )
    assert page.status_code == 200
    assert f"Start\n\nHello {cast.alice.display_name}</textarea>" in page.content.decode()
    assert not ThreadEntry.objects.filter(thread_id=ticket_a.thread_id, kind="response").exists()


def test_user_content_is_escaped_and_email_html_is_shown_sanitised(as_agent_a, cast):
    ticket = services.ticket_open(
        actor=cast.alice,
        new=services.NewTicket(
            requester=cast.alice,
            subject="<script>alert(1)</script>",
            body='<p>Hi <b>there</b><img src=x onerror="alert(2)"><script>alert(3)</script></p>',
            fmt="html",
            department=cast.dept_a,
        ),
    )
    html = as_agent_a.get(f"/scp/tickets/{ticket.number}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>there</b>" in html
    assert "onerror" not in html and "alert(3)" not in html


def test_a_due_date_the_database_cannot_hold_is_a_form_error_with_nothing_written(
    cast, ticket_a, nothing_written
):
    """9999-12-31 23:59 twelve hours west of Greenwich is year 10000 in UTC: a 422 with
    the field's error, not a 500."""
    from accounts.models import User

    User.objects.filter(pk=cast.agent_a.pk).update(timezone="Etc/GMT+12")
    events = ThreadEvent.objects.count()
    as_agent_a = signed_in(cast.agent_a)
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/do/due/", {"due_at": "9999-12-31T23:59"}
        )
    assert response.status_code == 422
    assert "Give a date and time from 0001-01-02 to 9999-12-30." in response.content.decode()
    assert fresh(ticket_a).due_at == ticket_a.due_at
    assert ThreadEvent.objects.count() == events
