"""The people pages of the panel: each permission both ways (a styled 403 without it,
nothing written), the CSV import's preview and confirmation, the directory's tickets,
activity and query budget."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization, User
from threads.models import Collaborator
from tickets.models import Ticket

from ..factories import AgentFactory, ClientFactory, TeamFactory, open_ticket
from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _as(cast, *keys):
    return signed_in(AgentFactory(department=cast.dept_a, permissions=list(keys)))


def _refused(response, perm):
    assert response.status_code == 403
    html = response.content.decode()
    assert f'data-permission="{perm}"' in html
    assert 'class="sidebar"' in html  # the panel's layout, not a bare page


# (permission, method, url, data) of every gated page
def _pages(cast):
    alice = cast.alice.pk
    return [
        ("user.create", "get", "/scp/users/new/", None),
        ("user.create", "post", "/scp/users/new/", {"email": "new@x.test"}),
        ("user.create", "post", "/scp/users/import/", {"text": "email\nnew@x.test\n"}),
        ("user.edit", "post", f"/scp/users/{alice}/edit/", {"email": "alice@acme.test"}),
        ("user.delete", "post", f"/scp/users/{alice}/delete/", {"tickets": "keep"}),
        ("user.manage", "post", f"/scp/users/{alice}/account/lock/", {}),
        ("org.create", "post", "/scp/orgs/new/", {"name": "Initech", "sharing": "requester"}),
        (
            "org.edit",
            "post",
            f"/scp/orgs/{cast.acme.pk}/edit/",
            {"name": "Renamed", "sharing": "all"},
        ),
        ("org.delete", "post", f"/scp/orgs/{cast.acme.pk}/delete/", {}),
    ]


def _state():
    return (
        sorted(User.objects.values_list("email", "name", "is_locked")),
        sorted(Organization.objects.values_list("name", flat=True)),
    )


@pytest.mark.parametrize("index", range(9))
def test_each_people_action_is_refused_without_its_permission(cast, index):
    perm, method, url, data = _pages(cast)[index]
    others = [p for p, *_ in _pages(cast) if p != perm]
    client = _as(cast, "user.dir", *others)
    before = _state()

    response = getattr(client, method)(url, data) if data is not None else client.get(url)

    _refused(response, perm)
    assert _state() == before


@pytest.mark.parametrize("index", range(9))
def test_each_people_action_is_done_with_its_permission(cast, index):
    perm, method, url, data = _pages(cast)[index]
    client = _as(cast, perm)
    before = _state()

    response = getattr(client, method)(url, data) if data is not None else client.get(url)

    assert response.status_code in (200, 302)
    if method == "post" and "import" not in url:
        assert response.status_code == 302
        assert _state() != before


def test_the_merge_page_needs_user_edit_and_user_delete(cast):
    dup = ClientFactory(email="dup@x.test")
    url = f"/scp/users/{cast.alice.pk}/merge/"
    _refused(_as(cast, "user.edit").post(url, {"other_email": "dup@x.test"}), "user.delete")
    _refused(_as(cast, "user.delete").post(url, {"other_email": "dup@x.test"}), "user.edit")
    assert User.objects.filter(pk=dup.pk).exists()

    response = _as(cast, "user.edit", "user.delete").post(url, {"other_email": "dup@x.test"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=dup.pk).exists()
    assert "dup@x.test" in cast.alice.extra_emails.values_list("email", flat=True)


def test_add_a_user_with_every_field(cast):
    response = _as(cast, "user.create").post(
        "/scp/users/new/",
        {
            "name": "Nina",
            "email": "nina@acme.test",
            "extra_emails": "nina@home.test\n",
            "phone": "555",
            "organization": cast.acme.pk,
            "is_primary_contact": "on",
        },
    )
    nina = User.objects.get(email="nina@acme.test")
    assert response["Location"] == f"/scp/users/{nina.pk}/"
    assert (nina.name, nina.phone, nina.organization, nina.is_primary_contact) == (
        "Nina",
        "555",
        cast.acme,
        True,
    )
    assert list(nina.extra_emails.values_list("email", flat=True)) == ["nina@home.test"]


def test_a_taken_address_is_a_form_error_not_a_500(cast):
    response = _as(cast, "user.create").post("/scp/users/new/", {"email": "alice@acme.test"})
    assert response.status_code == 409
    assert "already exists" in response.content.decode()


def test_delete_from_the_panel_with_either_fate(cast):
    kept = open_ticket(cast.alice, department=cast.dept_a)
    gone = open_ticket(cast.bob, department=cast.dept_a)
    client = _as(cast, "user.delete")

    assert (
        client.post(f"/scp/users/{cast.alice.pk}/delete/", {"tickets": "keep"}).status_code == 302
    )
    kept.refresh_from_db()
    assert kept.requester.name == "Deleted user"

    response = client.post(f"/scp/users/{cast.bob.pk}/delete/", {"tickets": "delete"})
    assert response.status_code == 302
    assert not Ticket.objects.filter(pk=gone.pk).exists()


def test_account_actions(cast):
    client = _as(cast, "user.manage", "user.dir")
    client.post(f"/scp/users/{cast.alice.pk}/account/lock/")
    cast.alice.refresh_from_db()
    assert cast.alice.is_locked is True
    page = client.get(f"/scp/users/{cast.alice.pk}/").content.decode()
    assert "Locked" in page and "/account/unlock/" in page
    client.post(f"/scp/users/{cast.alice.pk}/account/unlock/")
    cast.alice.refresh_from_db()
    assert cast.alice.is_locked is False
    assert client.post(f"/scp/users/{cast.alice.pk}/account/explode/").status_code == 404


def test_an_invitation_registers_a_guest(cast, django_capture_on_commit_callbacks):
    from django.core import mail

    from helpdesk.portal.models import Invitation

    guest = ClientFactory(email="guest@x.test", password=None)
    guest.set_unusable_password()
    guest.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = _as(cast, "user.manage").post(f"/scp/users/{guest.pk}/account/invite/")
    assert response.status_code == 302
    assert Invitation.objects.filter(email="guest@x.test").exists()
    assert [m.to for m in mail.outbox] == [["guest@x.test"]]


def test_agents_are_not_managed_here(cast):
    client = _as(cast, "user.edit", "user.delete", "user.manage")
    assert client.get(f"/scp/users/{cast.agent_b.pk}/edit/").status_code == 404
    assert client.post(f"/scp/users/{cast.agent_b.pk}/account/lock/").status_code == 404


# --- CSV import ----------------------------------------------------------------------------


def test_the_import_previews_then_writes(cast):
    client = _as(cast, "user.create")
    text = "email,name,organization\nann@x.test,Ann,Acme\nbad,Bad,\n"

    preview = client.post("/scp/users/import/", {"text": text})

    html = preview.content.decode()
    assert preview.status_code == 200
    assert 'id="import-preview"' in html and "bad is not a valid email address." in html
    assert not User.objects.filter(email="ann@x.test").exists()

    refused = client.post("/scp/users/import/", {"text": text, "confirm": "on"})
    assert refused.status_code == 422
    assert "nothing was imported" in refused.content.decode()
    assert not User.objects.filter(email="ann@x.test").exists()

    done = client.post("/scp/users/import/", {"text": text, "confirm": "on", "skip_invalid": "on"})
    assert done.status_code == 302
    assert User.objects.get(email="ann@x.test").organization == cast.acme


def test_an_uploaded_file_is_read(cast):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("users.csv", b"\xef\xbb\xbfemail,name\nzed@x.test,Zed\n")
    response = _as(cast, "user.create").post(
        "/scp/users/import/", {"file": upload, "confirm": "on"}
    )
    assert response.status_code == 302
    assert User.objects.get(email="zed@x.test").name == "Zed"


def test_an_empty_or_headless_import_is_a_form_error(cast):
    client = _as(cast, "user.create")
    assert client.post("/scp/users/import/", {"text": ""}).status_code == 422
    response = client.post("/scp/users/import/", {"text": "name\nAnn\n"})
    assert response.status_code == 422
    assert "email column" in response.content.decode()


# --- organizations ------------------------------------------------------------------------------


def test_create_an_organization_with_a_team_as_account_manager(cast):
    team = TeamFactory(name="Key accounts")
    response = _as(cast, "org.create").post(
        "/scp/orgs/new/",
        {
            "name": "Initech",
            "domains": "initech.test, @initech.example",
            "sharing": "all",
            "manager": f"t{team.pk}",
            "collab_primary_contacts": "on",
            "auto_assign_manager": "on",
        },
    )
    org = Organization.objects.get(name="Initech")
    assert response["Location"] == f"/scp/orgs/{org.pk}/"
    assert (org.manager_team, org.manager_agent, org.auto_assign_manager) == (team, None, True)
    assert sorted(org.domains.values_list("domain", flat=True)) == [
        "initech.example",
        "initech.test",
    ]


def test_edit_an_organization_sets_primary_contacts(cast):
    client = _as(cast, "org.edit", "user.dir")
    response = client.post(
        f"/scp/orgs/{cast.acme.pk}/edit/",
        {
            "name": "Acme",
            "sharing": "primary",
            "manager": f"a{cast.agent_a.pk}",
            "primary_contacts": [cast.alice.pk],
            "collab_primary_contacts": "on",
        },
    )
    assert response.status_code == 302
    cast.alice.refresh_from_db()
    assert cast.alice.is_primary_contact is True
    page = client.get(f"/scp/orgs/{cast.acme.pk}/").content.decode()
    assert cast.agent_a.display_name in page

    colleague = User.objects.get(pk=cast.alice_colleague.pk)
    ticket = open_ticket(colleague, department=cast.dept_a)
    assert list(
        Collaborator.objects.filter(thread_id=ticket.thread_id).values_list("user_id", flat=True)
    ) == [cast.alice.pk]


def test_a_taken_domain_is_a_form_error(cast):
    from accounts.models import OrganizationDomain

    OrganizationDomain.objects.create(organization=cast.globex, domain="globex.test")
    response = _as(cast, "org.edit").post(
        f"/scp/orgs/{cast.acme.pk}/edit/",
        {"name": "Acme", "sharing": "all", "domains": "globex.test"},
    )
    assert response.status_code == 409
    assert not cast.acme.domains.exists()


# --- the directory ----------------------------------------------------------------------------


def test_the_user_page_shows_only_visible_tickets_and_activity(cast):
    seen = open_ticket(cast.alice, department=cast.dept_a, subject="Seen subject")
    hidden = open_ticket(cast.alice, department=cast.dept_b, subject="Hidden subject")
    html = signed_in(AgentFactory(department=cast.dept_a, permissions=["user.dir"])).get(
        f"/scp/users/{cast.alice.pk}/"
    )
    html = html.content.decode()
    assert seen.number in html and hidden.number not in html
    assert "Hidden subject" not in html
    assert html.count("Seen subject") == 2  # the ticket list and the recent activity
    assert "Acme" in html


def test_the_directory_offers_only_what_the_agent_may_do(cast):
    plain = _as(cast, "user.dir").get(f"/scp/users/{cast.alice.pk}/").content.decode()
    assert "/edit/" not in plain and "/delete/" not in plain and "/account/" not in plain
    full = _as(cast, "user.dir", "user.edit", "user.delete", "user.manage")
    html = full.get(f"/scp/users/{cast.alice.pk}/").content.decode()
    assert "/edit/" in html and "/delete/" in html and "/merge/" in html
    assert "/account/lock/" in html


def test_the_directory_list_counts_visible_tickets(cast):
    open_ticket(cast.alice, department=cast.dept_a)
    open_ticket(cast.alice, department=cast.dept_b)
    html = _as(cast, "user.dir").get("/scp/users/?q=alice").content.decode()
    assert 'data-label="Tickets">1<' in html


def test_the_directory_list_costs_the_same_for_5_or_40_users(cast):
    client = _as(cast, "user.dir")
    org = Organization.objects.create(name="Many")

    def count():
        client.get("/scp/users/")  # warm the caches
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/scp/users/").status_code == 200
        return len(ctx.captured_queries)

    for _ in range(5):
        open_ticket(ClientFactory(organization=org), department=cast.dept_a)
    few = count()
    for _ in range(35):
        open_ticket(ClientFactory(organization=org), department=cast.dept_a)
    assert count() == few


def test_bad_input_is_a_form_error_and_changes_nothing(cast):
    client = _as(cast, "user.edit", "user.delete", "org.create")
    before = _state()
    url = f"/scp/users/{cast.alice.pk}/"
    assert client.post(url + "merge/", {"other_email": "nobody@x.test"}).status_code == 422
    assert client.post(url + "merge/", {"other": "999999"}).status_code == 422
    assert client.post(url + "merge/", {"other": cast.alice.pk}).status_code == 422
    assert client.post(url + "delete/", {"tickets": "shred"}).status_code == 422
    assert client.post(url + "edit/", {"email": "not an address"}).status_code == 422
    assert client.post(url + "edit/", {"email": "bob@globex.test"}).status_code == 422
    response = client.post("/scp/orgs/new/", {"name": "X", "sharing": "all", "domains": "nodot"})
    assert response.status_code == 422
    assert client.post("/scp/orgs/new/", {"name": "", "sharing": "all"}).status_code == 422
    assert _state() == before
    assert client.get("/scp/users/999999/edit/").status_code == 404


# --- the placeholder of deleted users ---------------------------------------------------------


def _placeholder(cast):
    """Alice deleted, her ticket kept: the placeholder now holds it."""
    from tickets.services.people import placeholder_user

    kept = open_ticket(cast.alice, department=cast.dept_a, subject="Kept after deletion")
    _as(cast, "user.delete").post(f"/scp/users/{cast.alice.pk}/delete/", {"tickets": "keep"})
    return placeholder_user(), kept


def test_the_placeholder_is_not_listed_in_the_directory_nor_found_by_its_search(cast):
    placeholder, _kept = _placeholder(cast)
    client = _as(cast, "user.dir")
    listing = client.get("/scp/users/").content.decode()
    assert f"/scp/users/{placeholder.pk}/" not in listing
    assert f"/scp/users/{cast.bob.pk}/" in listing  # the other clients still are
    found = client.get("/scp/users/?q=Deleted").content.decode()
    assert f"/scp/users/{placeholder.pk}/" not in found
    found = client.get("/scp/users/?q=placeholder.invalid").content.decode()
    assert f"/scp/users/{placeholder.pk}/" not in found


def test_the_placeholder_is_not_a_client_to_open_a_ticket_for(cast):
    placeholder, _kept = _placeholder(cast)
    client = _as(cast, "user.dir")
    assert client.get(f"/scp/tickets/new/?user={placeholder.pk}").status_code == 400
    assert client.get(f"/scp/tickets/new/?user={cast.bob.pk}").status_code == 200


def test_the_placeholder_is_not_edited_locked_or_merged_from_the_panel(cast):
    placeholder, kept = _placeholder(cast)
    client = _as(cast, "user.dir", "user.edit", "user.delete", "user.manage")
    before = (placeholder.name, placeholder.email, placeholder.is_locked)
    assert client.get(f"/scp/users/{placeholder.pk}/edit/").status_code == 404
    edit = {"email": "someone@x.test", "name": "Someone"}
    assert client.post(f"/scp/users/{placeholder.pk}/edit/", edit).status_code == 404
    assert client.post(f"/scp/users/{placeholder.pk}/account/lock/").status_code == 404
    assert (
        client.post(f"/scp/users/{placeholder.pk}/merge/", {"other": cast.bob.pk}).status_code
        == 404
    )
    # nor picked as the user merged into another one
    response = client.post(f"/scp/users/{cast.bob.pk}/merge/", {"other": placeholder.pk})
    assert response.status_code == 422
    response = client.post(f"/scp/users/{cast.bob.pk}/merge/", {"other_email": placeholder.email})
    assert response.status_code == 422
    placeholder.refresh_from_db()
    assert (placeholder.name, placeholder.email, placeholder.is_locked) == before
    assert Ticket.objects.get(pk=kept.pk).requester_id == placeholder.pk
    # its page shows the tickets it keeps, without a button to change it
    page = client.get(f"/scp/users/{placeholder.pk}/").content.decode()
    assert "Kept after deletion" in page
    assert f"/scp/users/{placeholder.pk}/edit/" not in page
    assert f"/scp/users/{placeholder.pk}/account/lock/" not in page
    assert f"?user={placeholder.pk}" not in page  # no "new ticket for this user"
    # a real client's page still offers them
    page = client.get(f"/scp/users/{cast.bob.pk}/").content.decode()
    assert f"/scp/users/{cast.bob.pk}/edit/" in page
    assert f"?user={cast.bob.pk}" in page


def test_the_placeholder_address_is_not_a_requester_to_type_in(cast):
    placeholder, _kept = _placeholder(cast)
    client = signed_in(cast.agent_a)
    data = {"subject": "For nobody", "body": "x", "department": cast.dept_a.pk}

    refused = client.post("/scp/tickets/new/", {**data, "email": placeholder.email})
    accepted = client.post("/scp/tickets/new/", {**data, "email": cast.bob.email})

    assert refused.status_code == 422
    assert "placeholder of deleted users" in refused.content.decode()
    assert not Ticket.objects.filter(subject="For nobody", requester=placeholder).exists()
    assert accepted.status_code == 302
