"""Thread entries, attachments and events through the API."""

import base64

from django.core.files.uploadedfile import SimpleUploadedFile

from threads.models import Attachment, ThreadEntry
from tickets.models import Ticket

from ..factories import attachment, open_ticket
from ..samples import PNG
from .conftest import problem


def entries_url(ticket):
    return f"/api/v1/tickets/{ticket.number}/entries/"


def test_an_agent_replies_with_a_status_and_a_base64_file(api, cast, ticket_a):
    from ..factories import status

    response = api.agent(cast.agent_a).post(
        entries_url(ticket_a),
        {
            "kind": "reply",
            "body": "Fixed.",
            "status": status("Resolved").pk,
            "attachments": [{"filename": "fix.txt", "content": base64.b64encode(b"ok").decode()}],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "response" and body["body_text"] == "Fixed."
    assert [a["filename"] for a in body["attachments"]] == ["fix.txt"]
    ticket_a.refresh_from_db()
    assert ticket_a.status.name == "Resolved" and ticket_a.is_answered
    assert response["ETag"] == f'"{ticket_a.version}"'


def test_a_client_posts_a_message_with_a_multipart_file(api, cast, ticket_a):
    upload = SimpleUploadedFile("shot.png", b"\x89PNG fake", content_type="image/png")

    response = api.client_user(cast.alice).post(
        entries_url(ticket_a),
        {"kind": "message", "body": "Screenshot attached", "attachments": [upload]},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    entry = ThreadEntry.objects.get(pk=response.json()["id"])
    assert entry.kind == "message" and entry.poster == cast.alice
    assert entry.attachments.get().filename == "shot.png"


def test_a_client_cannot_reply_or_note(api, cast, ticket_a, nothing_written):
    client = api.client_user(cast.alice)

    with nothing_written():
        reply = client.post(entries_url(ticket_a), {"kind": "reply", "body": "x"}, format="json")
        note = client.post(entries_url(ticket_a), {"kind": "note", "body": "x"}, format="json")

    assert (reply.status_code, note.status_code) == (403, 403)
    assert problem(reply)["detail"] == "Your role in Support does not allow ticket.reply."
    assert problem(note)["detail"] == "Only agents post internal notes."
    assert ThreadEntry.objects.filter(thread_id=ticket_a.thread_id).count() == 1


def test_an_agent_cannot_post_a_client_message(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            entries_url(ticket_a), {"kind": "message", "body": "x"}, format="json"
        )

    assert response.status_code == 403
    assert problem(response)["detail"] == (
        "Agents post responses or internal notes, not client messages."
    )


def test_an_unknown_kind_and_bad_base64_are_422(api, cast, ticket_a, nothing_written):
    client = api.agent(cast.agent_a)

    with nothing_written():
        kind = client.post(entries_url(ticket_a), {"kind": "shout", "body": "x"}, format="json")
        b64 = client.post(
            entries_url(ticket_a),
            {"kind": "note", "body": "x", "attachments": [{"filename": "a", "content": "%%%"}]},
            format="json",
        )

    assert kind.status_code == 422
    assert problem(kind)["errors"] == {"kind": ['"shout" is not a valid choice.']}
    assert b64.status_code == 422
    assert problem(b64)["errors"] == {"attachments.0.content": ["Not valid base64."]}


def test_clients_never_see_internal_notes(api, cast, ticket_a):
    api.agent(cast.agent_a).post(
        entries_url(ticket_a), {"kind": "note", "body": "secret"}, format="json"
    )

    agent_view = api.agent(cast.agent_a).get(entries_url(ticket_a)).json()["results"]
    client_view = api.client_user(cast.alice).get(entries_url(ticket_a)).json()["results"]

    assert [e["kind"] for e in agent_view] == ["message", "note"]
    assert [e["kind"] for e in client_view] == ["message"]


def _ticket_with_file(cast, name="report.html", content=b"<script>x</script>", ctype="text/html"):
    ticket = open_ticket(
        cast.alice,
        department=cast.dept_a,
        files=[attachment(name=name, content=content, content_type=ctype)],
    )
    return ticket, Attachment.objects.get(entry__thread_id=ticket.thread_id)


def test_attachments_download_as_files_unless_safe_images(api, cast):
    _, html = _ticket_with_file(cast)
    _, png = _ticket_with_file(cast, "a.png", PNG, "image/png")
    client = api.client_user(cast.alice)

    risky = client.get(f"/api/v1/attachments/{html.pk}/")
    image = client.get(f"/api/v1/attachments/{png.pk}/")

    assert risky.status_code == 200
    assert risky["Content-Disposition"] == 'attachment; filename="report.html"'
    assert risky["Content-Type"] == "application/octet-stream"
    assert b"".join(risky.streaming_content) == b"<script>x</script>"
    assert image["Content-Disposition"] == 'inline; filename="a.png"'
    assert image["Content-Type"] == "image/png"


def test_attachment_downloads_are_permission_checked(api, cast):
    _, att = _ticket_with_file(cast)

    assert api.client_user(cast.bob).get(f"/api/v1/attachments/{att.pk}/").status_code == 404
    assert api.agent(cast.agent_b).get(f"/api/v1/attachments/{att.pk}/").status_code == 404
    assert api.agent(cast.agent_a).get(f"/api/v1/attachments/{att.pk}/").status_code == 200
    assert api.agent(cast.agent_a).get("/api/v1/attachments/999999/").status_code == 404


def test_attachments_of_notes_are_hidden_from_clients(api, cast, ticket_a):
    api.agent(cast.agent_a).post(
        entries_url(ticket_a),
        {
            "kind": "note",
            "body": "internal",
            "attachments": [{"filename": "n.txt", "content": base64.b64encode(b"n").decode()}],
        },
        format="json",
    )
    att = Attachment.objects.get(filename="n.txt")

    assert api.client_user(cast.alice).get(f"/api/v1/attachments/{att.pk}/").status_code == 404
    assert api.agent(cast.agent_a).get(f"/api/v1/attachments/{att.pk}/").status_code == 200


def test_events_are_the_audit_trail_for_agents(api, cast, ticket_a):
    client = api.agent(cast.agent_a)
    client.post(f"/api/v1/tickets/{ticket_a.number}/claim/")

    response = client.get(f"/api/v1/tickets/{ticket_a.number}/events/")
    refused = api.client_user(cast.alice).get(f"/api/v1/tickets/{ticket_a.number}/events/")

    rows = response.json()["results"]
    assert [(e["kind"], e["channel"]) for e in rows] == [("created", "portal"), ("assigned", "api")]
    assert rows[1]["actor"]["id"] == cast.agent_a.pk
    assert refused.status_code == 403
    assert problem(refused)["code"] == "permission_denied"
    assert Ticket.objects.get(pk=ticket_a.pk).version == 2
