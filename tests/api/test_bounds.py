"""Every list in an API body has a maximum, counted before any database work; the
body limit follows the attachment limits; multipart uploads of any allowed size work."""

import base64
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from rest_framework import fields as drf_fields

from accounts.models import Organization
from helpdesk import limits
from helpdesk.api import bounds
from helpdesk.api import serializers as s
from helpdesk.webhooks.models import Subscription
from routing.models import Team
from threads.models import Attachment, StoredFile, ThreadEntry, ThreadEvent
from tickets.models import Ticket

from ..samples import PNG
from .conftest import problem

MILLION = 1_000_000
MIB = 1024 * 1024


@pytest.fixture
def field_validations(monkeypatch):
    """How many values DRF validated during the request: every field's and every list
    item's run_validation passes through Field.validate_empty_values, so per-item work
    on a million items would count a million."""
    calls = []
    original = drf_fields.Field.validate_empty_values

    def counted(self, data):
        calls.append(type(self).__name__)
        return original(self, data)

    monkeypatch.setattr(drf_fields.Field, "validate_empty_values", counted)
    return calls


def _post_json(client, url, body: dict):
    raw = json.dumps(body)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, data=raw, content_type="application/json")
    return response, [q["sql"] for q in queries]


def _auth_only(sqls: list[str]) -> bool:
    """The token lookup (and its last-used stamp) are the only statements."""
    return all("accounts_agenttoken" in q for q in sqls)


# The refusal does no per-item work: no query and no field validation per item (a query
# per item would take minutes). Counted, not timed: the time is json.loads's.
@pytest.mark.parametrize(
    "field,items,limit",
    [
        ("collaborators", list(range(1, MILLION + 1)), limits.MAX_COLLABORATORS),
        ("attachments", [{"filename": "a.txt", "content": "YQ=="}] * MILLION, 5),
    ],
)
def test_a_million_items_answer_400_at_once_with_no_query_beyond_auth(
    api, cast, field_validations, field, items, limit, nothing_written
):
    client = api.agent(cast.agent_a)
    body = {"subject": "s", "body": "b", "requester_email": "x@example.com", field: items}

    with nothing_written():
        response, sqls = _post_json(client, "/api/v1/tickets/", body)

    assert response.status_code == 400
    assert problem(response) == {
        "type": "urn:helpdesk:problem:too_many_items",
        "title": "Bad request",
        "status": 400,
        "detail": f"{field}: At most {limit} items ({MILLION} given).",
        "code": "too_many_items",
        "errors": {field: [f"At most {limit} items ({MILLION} given)."]},
    }
    assert field_validations == []  # refused before DRF validated anything
    assert len(sqls) <= 2 and _auth_only(sqls), sqls


def test_lists_over_their_maximum_are_named_in_the_serializers_order(db):
    """Given a body naming two lists over their maximum, later fields first, then the
    problem names both, in the serializer's order, and its detail the first of them."""
    serializer = s.TicketCreateSerializer(
        data={
            "custom_fields": {f"f{i}": "x" for i in range(limits.MAX_CUSTOM_FIELDS + 1)},
            "subject": "s",
            "collaborators": list(range(1, limits.MAX_COLLABORATORS + 2)),
        }
    )
    with pytest.raises(bounds.Problem) as refused:
        bounds.validate(serializer)
    errors = refused.value.errors
    assert list(errors) == ["collaborators", "custom_fields"]
    assert str(refused.value.detail).startswith("collaborators: At most")


def test_a_million_merge_sources_are_refused_before_any_ticket_is_read(
    api, cast, ticket_a, field_validations, nothing_written
):
    client = api.agent(cast.agent_a)
    url = f"/api/v1/tickets/{ticket_a.number}/merge/"
    events = ThreadEvent.objects.count()
    with nothing_written():
        _r, baseline = _post_json(client, url, {"sources": []})  # refused, reads no source

        field_validations.clear()
        response, sqls = _post_json(client, url, {"sources": ["123456"] * MILLION})

    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "sources": [f"At most {limits.MAX_BULK_IDS} items ({MILLION} given)."]
    }
    assert field_validations == []
    assert len(sqls) <= len(baseline)  # the auth and the ticket itself, as for no source
    assert ThreadEvent.objects.count() == events


@pytest.mark.parametrize(
    "url,field,value",
    [
        ("/api/v1/teams/", "members", list(range(1, MILLION + 1))),
        ("/api/v1/organizations/", "domains", ["example.com"] * MILLION),
        ("/api/v1/webhooks/", "events", ["*"] * MILLION),
    ],
)
def test_reference_lists_are_bounded_too(
    api, cast, field_validations, url, field, value, nothing_written
):
    client = api.agent(cast.admin)
    teams, orgs = Team.objects.count(), Organization.objects.count()
    hooks = Subscription.objects.count()

    with nothing_written():
        response, _sqls = _post_json(client, url, {"name": "N", field: value})

    assert response.status_code == 400
    assert problem(response)["code"] == "too_many_items"
    assert list(problem(response)["errors"]) == [field]
    assert field_validations == []
    assert (Team.objects.count(), Organization.objects.count()) == (teams, orgs)
    assert Subscription.objects.count() == hooks


def test_custom_field_values_are_bounded(api, cast, nothing_written):
    values = {f"f{i}": "x" for i in range(limits.MAX_CUSTOM_FIELDS + 1)}
    body = {"subject": "s", "body": "b", "requester_email": "x@example.com"}

    client = api.agent(cast.agent_a)
    with nothing_written():
        response, _sqls = _post_json(client, "/api/v1/tickets/", {**body, "custom_fields": values})

    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "custom_fields": [
            f"At most {limits.MAX_CUSTOM_FIELDS} items ({limits.MAX_CUSTOM_FIELDS + 1} given)."
        ]
    }


def test_collaborators_are_resolved_in_one_query_and_unknown_ids_are_named(
    api, cast, nothing_written
):
    client = api.agent(cast.agent_a)
    body = {
        "subject": "s",
        "body": "b",
        "requester": cast.alice_colleague.pk,
        "department": cast.dept_a.pk,
        "collaborators": [cast.alice.pk, 999_999, cast.bob.pk],
    }

    with nothing_written():
        refused = client.post("/api/v1/tickets/", body, format="json")
    body["collaborators"] = [cast.alice.pk, cast.bob.pk, cast.alice.pk]
    opened = client.post("/api/v1/tickets/", body, format="json")

    assert refused.status_code == 422
    assert problem(refused)["errors"] == {"collaborators": ["Unknown ids: 999999."]}
    assert opened.status_code == 201, opened.content
    ticket = Ticket.objects.get()
    cc = set(ticket.thread.collaborators.values_list("user_id", flat=True))
    assert cc == {cast.alice.pk, cast.bob.pk}


def test_a_client_meets_the_portals_attachment_count_in_the_api(
    api, cast, ticket_a, nothing_written
):
    from helpdesk.portal.models import PortalSettings

    config = PortalSettings.load()
    config.max_attachments = 1
    config.save()
    files = [{"filename": f"{n}.txt", "content": base64.b64encode(b"hi").decode()} for n in "ab"]

    client = api.client_user(cast.alice)
    with nothing_written():
        response = client.post(
            f"/api/v1/tickets/{ticket_a.number}/entries/",
            {"kind": "message", "body": "two files", "attachments": files},
            format="json",
        )

    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "attachments": ["At most 1 files per message (2 given)."]
    }
    assert ThreadEntry.objects.filter(thread_id=ticket_a.thread_id).count() == 1


def test_form_and_json_bodies_get_the_same_defaults():
    json_data = bounds.validate(
        s.TicketCreateSerializer(data={"subject": "s", "body": "b", "collaborators": []})
    )
    form = QueryDict(mutable=True)
    form.update({"subject": "s", "body": "b"})
    form_data = bounds.validate(s.TicketCreateSerializer(data=form))

    assert form_data["autorespond"] is json_data["autorespond"] is True
    assert form_data["alert"] is json_data["alert"] is True
    assert form_data["source"] == json_data["source"] == "api"


def test_form_and_json_bodies_get_the_same_refusals(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    many = list(range(1, limits.MAX_COLLABORATORS + 2))
    body = {"subject": "s", "body": "b", "requester_email": "x@example.com"}

    with nothing_written():
        as_json = client.post("/api/v1/tickets/", {**body, "collaborators": many}, format="json")
        as_form = client.post(
            "/api/v1/tickets/", {**body, "collaborators": many}, format="multipart"
        )

    assert as_json.status_code == as_form.status_code == 400
    assert problem(as_json) == problem(as_form)


# --- sizes --------------------------------------------------------------------------------


def test_the_body_limit_follows_the_attachment_limits(settings):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 3 * MIB, "MAX_ATTACHMENTS": 2}
    settings.HELPDESK_API = {**settings.HELPDESK_API, "MAX_BODY_BYTES": 0}

    assert limits.max_body_bytes() == 2 * (4 * MIB) + MIB

    settings.HELPDESK_API = {**settings.HELPDESK_API, "MAX_BODY_BYTES": 12345}
    assert limits.max_body_bytes() == 12345


def test_a_10_mib_attachment_goes_through_json(api, cast, ticket_a):
    content = PNG + b"\x00" * (10 * MIB - len(PNG))
    body = {
        "kind": "note",
        "body": "big",
        "attachments": [{"filename": "big.png", "content": base64.b64encode(content).decode()}],
    }

    response = api.agent(cast.agent_a).post(
        f"/api/v1/tickets/{ticket_a.number}/entries/", body, format="json"
    )

    assert response.status_code == 201, response.content[:300]
    stored = Attachment.objects.get(entry_id=response.json()["id"])
    assert (stored.filename, stored.file.size) == ("big.png", 10 * MIB)


@pytest.mark.parametrize("size", [3 * MIB, 10 * MIB])
@pytest.mark.parametrize("who", ["agent", "client"])
def test_multipart_uploads_of_any_allowed_size_work(api, cast, ticket_a, size, who):
    client = api.agent(cast.agent_a) if who == "agent" else api.client_user(cast.alice)
    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.4\n" + b"x" * (size - 9), "application/pdf")
    kind = "note" if who == "agent" else "message"

    response = client.post(
        f"/api/v1/tickets/{ticket_a.number}/entries/",
        {"kind": kind, "body": "scan", "attachments": [upload]},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=f"upload-{who}-{size}",
    )

    assert response.status_code == 201, response.content[:300]
    stored = Attachment.objects.get(entry_id=response.json()["id"])
    assert (stored.filename, stored.file.size) == ("scan.pdf", size)


def test_a_large_multipart_upload_opens_a_ticket(api, cast):
    upload = SimpleUploadedFile("photo.png", PNG + b"\x00" * (3 * MIB), "image/png")

    response = api.agent(cast.agent_a).post(
        "/api/v1/tickets/",
        {
            "subject": "s",
            "body": "b",
            "requester": cast.alice.pk,
            "department": cast.dept_a.pk,
            "attachments": [upload],
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content[:300]
    assert Attachment.objects.get().file.size == len(PNG) + 3 * MIB


def test_a_multipart_body_over_the_limit_is_a_413_problem(
    api, cast, ticket_a, settings, nothing_written
):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": MIB, "MAX_ATTACHMENTS": 1}
    settings.HELPDESK_API = {**settings.HELPDESK_API, "MAX_BODY_BYTES": 0}
    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.4\n" + b"x" * (3 * MIB), "application/pdf")

    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            f"/api/v1/tickets/{ticket_a.number}/entries/",
            {"kind": "note", "body": "scan", "attachments": [upload]},
            format="multipart",
        )

    assert response.status_code == 413
    body = problem(response)
    assert body["code"] == "request_too_large"
    assert body["detail"] == (
        f"The request body is over {limits.max_body_bytes()} bytes "
        f"({limits.megabytes(limits.max_body_bytes())} MB)."
    )
    assert ThreadEntry.objects.filter(thread_id=ticket_a.thread_id).count() == 1


def test_a_multipart_file_over_the_attachment_limit_is_a_400_naming_it(
    api, cast, ticket_a, settings, nothing_written
):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": MIB}
    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.4\n" + b"x" * (2 * MIB), "application/pdf")

    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            f"/api/v1/tickets/{ticket_a.number}/entries/",
            {"kind": "note", "body": "scan", "attachments": [upload]},
            format="multipart",
        )

    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "attachments": ["Attachments over 1 MB are refused: scan.pdf."]
    }
    assert ThreadEntry.objects.filter(thread_id=ticket_a.thread_id).count() == 1
    assert StoredFile.objects.count() == 0


def test_more_multipart_files_than_allowed_are_refused_before_reading(
    api, cast, ticket_a, settings, nothing_written
):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENTS": 2}
    uploads = [SimpleUploadedFile(f"{n}.txt", b"x", "text/plain") for n in "abc"]

    client = api.agent(cast.agent_a)
    with nothing_written():
        response = client.post(
            f"/api/v1/tickets/{ticket_a.number}/entries/",
            {"kind": "note", "body": "files", "attachments": uploads},
            format="multipart",
        )

    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "attachments": ["At most 2 files per message (3 given)."]
    }
    assert StoredFile.objects.count() == 0


# --- osTicket's endpoint -------------------------------------------------------------------


def _osticket_key(*write_departments):
    from accounts.actors import SYSTEM
    from accounts.apikeys import api_key_create

    return api_key_create(
        actor=SYSTEM,
        name="osticket",
        allowed_ips=["127.0.0.1"],
        can_create_tickets=True,
        write_departments=write_departments,
    )[1]


@pytest.mark.parametrize(
    "extra,answer",
    [
        (
            {"attachments": [{"a.txt": "data:text/plain,a"}] * MILLION},
            "attachments: At most 5 files",
        ),
        (
            {f"field{i}": "x" for i in range(limits.MAX_CUSTOM_FIELDS + 1)},
            f"fields: At most {limits.MAX_CUSTOM_FIELDS} custom fields "
            f"({limits.MAX_CUSTOM_FIELDS + 1} given)",
        ),
    ],
    ids=["attachments", "custom-fields"],
)
def test_osticket_bodies_are_bounded_too(cast, extra, answer, nothing_written):
    from django.test import Client

    body = {"email": "a@example.com", "name": "A", "subject": "s", "message": "m", **extra}
    raw = json.dumps(body)
    key = _osticket_key()

    with nothing_written(), CaptureQueriesContext(connection) as queries:
        response = Client().post(
            "/api/tickets.json",
            data=raw,
            content_type="application/json",
            HTTP_X_API_KEY=key,
        )

    # Counted, not timed: only the key's lookup (and its last-used stamp) ran, no
    # query per item; the time is json.loads's.
    sqls = [q["sql"] for q in queries]
    assert len(sqls) <= 2 and all("apikey" in q.lower() for q in sqls), sqls
    assert response.status_code == 400
    assert response.content.decode() == (
        f"Unable to create new ticket: validation errors:\n{answer}"
    )


def test_osticket_attachments_meet_the_type_policy(cast):
    """As osTicket skips a file it refuses: the program is not stored, the ticket is
    opened and a system note says which file was left out and why."""
    from django.test import Client

    from threads.models import Attachment, StoredFile
    from tickets.models import HelpdeskSettings, Ticket

    from ..samples import PE

    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()

    exe = "data:application/octet-stream;base64," + base64.b64encode(PE).decode()
    body = {
        "email": "a@example.com",
        "name": "A",
        "subject": "s",
        "message": "m",
        "attachments": [{"setup.exe": exe}],
    }

    key = _osticket_key(cast.dept_a)

    response = Client().post(
        "/api/tickets.json",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )

    assert response.status_code == 201
    ticket = Ticket.objects.get(number=response.content.decode())
    assert not Attachment.objects.exists() and not StoredFile.objects.exists()
    note = ticket.thread.entries.get(kind="note")
    assert note.is_system and note.title == "Attachments not imported"
    assert f"- setup.exe ({len(PE):,} bytes): files of type .exe are not accepted" in (
        note.body_text
    )
