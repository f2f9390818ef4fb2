"""Who may open which portal URL: every URL, with clients of two organizations (alice of
Acme, which shares tickets with its members; bob of Globex, which does not), a guest
behind a sign-in link, an agent, and nobody."""

from urllib.parse import quote

import pytest
from django.utils.http import urlsafe_base64_encode

from helpdesk.kb import faq_services as kb
from helpdesk.portal.models import AccessLink
from tests.factories import attachment
from tickets import services

LOGIN = "/login/?next="
PUBLIC_PAGES = [
    "/",
    "/open/fields/",
    "/logout/",
    "/register/sent/",
    "/access/",
    "/access/sent/",
    "/password/reset/",
    "/password/reset/sent/",
    "/password/reset/done/",
    "/kb/",
    "/kb/search/?q=printer",
    "/kb/suggest/?subject=printer+jam",
]


@pytest.fixture
def world(helpdesk, tickets, client, django_user_model):
    """The cast's tickets, an internal note with a file on alice's, a public FAQ with a
    file, and a browser for each persona."""
    cast = helpdesk
    note = services.ticket_post_note(
        actor=cast.agent_a,
        ticket=tickets["alice"],
        body="internal",
        files=[attachment("secret.txt", b"S")],
    ).entry
    public = kb.faq_category_create(actor=cast.admin, name="Printing")
    internal = kb.faq_category_create(actor=cast.admin, name="Runbooks", is_public=False)
    faq = kb.faq_create(
        actor=cast.admin,
        category=public,
        question="Printer jams?",
        answer="<p>Open the tray.</p>",
        is_published=True,
        files=[attachment("guide.txt", b"G")],
    )
    hidden = kb.faq_create(
        actor=cast.admin,
        category=internal,
        question="Restart the print server",
        answer="<p>ssh in</p>",
        is_published=True,
    )
    draft = kb.faq_create(actor=cast.admin, category=public, question="Draft", answer="<p>x</p>")
    return {
        "cast": cast,
        "tickets": tickets,
        "note": note,
        "faq": faq,
        "hidden": hidden,
        "draft": draft,
        "public": public,
        "internal": internal,
    }


def _files(ticket):
    a = ticket.thread.entries.get(kind="message").attachments.get()
    return f"/tickets/{ticket.number}/files/{a.pk}/{quote(a.filename)}"


def persona(name, world, client, guest_login):
    cast = world["cast"]
    if name in ("alice", "bob", "agent"):
        client.force_login({"alice": cast.alice, "bob": cast.bob, "agent": cast.agent_a}[name])
        return client
    if name == "guest":  # the stranger, behind a link to their own ticket
        return guest_login(client, world["tickets"]["stranger"], cast.stranger)
    return client


@pytest.mark.parametrize("who", ["anonymous", "alice", "bob", "guest", "agent"])
def test_public_pages_answer_everyone(world, client, guest_login, who):
    browser = persona(who, world, client, guest_login)
    for url in PUBLIC_PAGES:
        assert browser.get(url).status_code == 200, url
    # signing in and registering are for visitors; signed-in people go to their tickets
    signed_in = who in ("alice", "bob", "agent")
    for url in ("/login/", "/register/"):
        response = browser.get(url)
        if who == "agent" and url == "/register/":
            assert response.status_code == 403
        elif signed_in:
            assert response.status_code == 302, url
            assert response["Location"] == "/tickets/"
        else:
            assert response.status_code == 200, url
    # agents open tickets in the staff panel
    assert browser.get("/open/").status_code == (403 if who == "agent" else 200)
    faq, public = world["faq"], world["public"]
    assert browser.get(f"/kb/category/{public.pk}/").status_code == 200
    assert browser.get(f"/kb/faq/{faq.pk}/").status_code == 200
    a = faq.attachments.get()
    response = browser.get(f"/kb/faq/{faq.pk}/files/{a.pk}/guide.txt")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"G"


@pytest.mark.parametrize("who", ["anonymous", "alice", "bob", "guest"])
def test_internal_and_unpublished_articles_answer_404(world, client, guest_login, who):
    browser = persona(who, world, client, guest_login)
    assert browser.get(f"/kb/category/{world['internal'].pk}/").status_code == 404
    assert browser.get(f"/kb/faq/{world['hidden'].pk}/").status_code == 404
    assert browser.get(f"/kb/faq/{world['draft'].pk}/").status_code == 404
    a = world["faq"].attachments.get()
    assert browser.get(f"/kb/faq/{world['hidden'].pk}/files/{a.pk}/guide.txt").status_code == 404


def test_links_with_bad_tokens_answer_404(world, client):
    for url in ("/access/nope/", "/register/verify/nope/", "/register/invite/nope/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "This link is not valid any more" in response.content.decode()
    uid = urlsafe_base64_encode(b"1")
    response = client.get(f"/password/reset/{uid}/bad-token/")
    assert response.status_code == 200
    assert "This link is not valid any more" in response.content.decode()


# (persona, ticket key) -> expected status of the ticket page, its reply, its close and
# its files. alice sees her colleague's ticket through Acme's sharing; bob sees his own.
VISIBLE = {
    ("alice", "alice"),
    ("alice", "colleague"),
    ("bob", "bob"),
    ("guest", "stranger"),
}


@pytest.mark.parametrize("who", ["alice", "bob", "guest"])
@pytest.mark.parametrize("key", ["alice", "colleague", "bob", "stranger"])
def test_ticket_pages_answer_404_unless_visible(
    world, client, guest_login, who, key, nothing_written
):
    browser = persona(who, world, client, guest_login)
    ticket = world["tickets"][key]
    base = f"/tickets/{ticket.number}/"
    expected = 200 if (who, key) in VISIBLE else 404
    assert browser.get(base).status_code == expected
    if key in ("alice", "bob"):
        response = browser.get(_files(ticket))
        assert response.status_code == expected
    if expected == 404:
        entries = ticket.thread.entries.count()
        with nothing_written():
            assert browser.post(base + "reply/", {"message": "hi"}).status_code == 404
            assert browser.post(base + "close/").status_code == 404
        ticket.refresh_from_db()
        assert (ticket.thread.entries.count(), ticket.state) == (entries, "open")


@pytest.mark.parametrize("who", ["alice", "bob", "guest"])
def test_attachments_of_internal_notes_answer_404_to_everyone(world, client, guest_login, who):
    browser = persona(who, world, client, guest_login)
    note_file = world["note"].attachments.get()
    number = world["tickets"]["alice"].number
    assert browser.get(f"/tickets/{number}/files/{note_file.pk}/secret.txt").status_code == 404
    # nor under a ticket the persona may see
    own = {"alice": "alice", "bob": "bob", "guest": "stranger"}[who]
    own_number = world["tickets"][own].number
    url = f"/tickets/{own_number}/files/{note_file.pk}/secret.txt"
    assert browser.get(url).status_code == 404


def test_nobody_is_sent_to_sign_in_for_every_ticket_url(world, client, nothing_written):
    number = world["tickets"]["alice"].number
    a = world["tickets"]["alice"].thread.entries.get(kind="message").attachments.get()
    for url in (
        "/tickets/",
        f"/tickets/{number}/",
        f"/tickets/{number}/files/{a.pk}/alice.txt",
        "/tickets/000000/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == LOGIN + quote(url, safe="/")
    with nothing_written():
        for url in (f"/tickets/{number}/reply/", f"/tickets/{number}/close/"):
            response = client.post(url, {"message": "hi"})
            assert response.status_code == 302
            assert response["Location"] == LOGIN + quote(url, safe="/")
    assert world["tickets"]["alice"].thread.entries.count() == 2  # message + note


def test_the_ticket_list_is_for_clients_guests_go_to_their_ticket(world, client, guest_login):
    stranger = world["tickets"]["stranger"]
    guest = persona("guest", world, client, guest_login)
    response = guest.get("/tickets/")
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{stranger.number}/"


def test_agents_are_sent_to_the_staff_panel(world, client, guest_login, nothing_written):
    agent = persona("agent", world, client, guest_login)
    number = world["tickets"]["alice"].number
    for url in ("/tickets/", f"/tickets/{number}/"):
        response = agent.get(url)
        assert response.status_code == 403
        assert "This page is for clients" in response.content.decode()
    with nothing_written():
        response = agent.post("/open/", {"subject": "x", "message": "y"})
    assert response.status_code == 403
    assert "This page is for clients" in response.content.decode()


def test_a_guest_link_never_widens_to_other_tickets_of_the_same_client(world, client, guest_login):
    """A link is for one ticket: the guest cannot reach the client's other tickets."""
    cast = world["cast"]
    from tests.factories import open_ticket

    other = open_ticket(cast.stranger, subject="Another one")
    browser = guest_login(client, world["tickets"]["stranger"], cast.stranger)
    assert browser.get(f"/tickets/{other.number}/").status_code == 404
    assert AccessLink.objects.count() == 1
