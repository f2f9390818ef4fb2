"""The knowledge base in the portal: browsing, reading, searching (full page and htmx),
suggestions while a ticket is written, and the admins' switches."""

import pytest

from helpdesk.kb import faq_services as kb
from helpdesk.portal.models import PortalSettings

from ..factories import TopicFactory, attachment


@pytest.fixture
def kb_data(cast):
    help_ = kb.faq_category_create(actor=cast.admin, name="Help", description="<p>Basics</p>")
    printing = kb.faq_category_create(actor=cast.admin, name="Printing", parent=help_)
    runbooks = kb.faq_category_create(actor=cast.admin, name="Runbooks", is_public=False)
    topic = TopicFactory(name="Printers", department=cast.dept_a)
    jam = kb.faq_create(
        actor=cast.admin,
        category=printing,
        question="How to clear a printer jam",
        answer="<h2>Steps</h2><p>Open the tray.</p>",
        is_published=True,
        is_featured=True,
        topics=[topic],
        files=[attachment("steps.pdf", b"%PDF", "application/pdf")],
    )
    secret = kb.faq_create(
        actor=cast.admin,
        category=runbooks,
        question="Restart the printer server",
        answer="<p>ssh print01</p>",
        is_published=True,
    )
    return {"help": help_, "printing": printing, "jam": jam, "secret": secret, "topic": topic}


def test_browsing_categories_and_reading_an_article(client, kb_data):
    index = client.get("/kb/").content.decode()
    assert "Help" in index and "Basics" in index and "Runbooks" not in index
    assert "How to clear a printer jam" in index  # featured
    category = client.get(f"/kb/category/{kb_data['help'].pk}/").content.decode()
    assert "Printing" in category
    category = client.get(f"/kb/category/{kb_data['printing'].pk}/").content.decode()
    assert "How to clear a printer jam" in category
    page = client.get(f"/kb/faq/{kb_data['jam'].pk}/").content.decode()
    assert "<h2>Steps</h2><p>Open the tray.</p>" in page
    a = kb_data["jam"].attachments.get()
    assert f"/kb/faq/{kb_data['jam'].pk}/files/{a.pk}/steps.pdf" in page
    assert f'/open/?topic={kb_data["topic"].pk}"' in page
    home = client.get("/").content.decode()
    assert "How to clear a printer jam" in home and "/kb/category/" in home


def test_search_pages_and_htmx_results(client, kb_data):
    page = client.get("/kb/search/?q=printer")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" in html and "How to clear a printer jam" in html
    assert "Restart the printer server" not in html
    partial = client.get("/kb/search/?q=tray", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "1 article found" in partial
    nothing = client.get("/kb/search/?q=unicorn").content.decode()
    assert "Nothing found for “unicorn”." in nothing


def test_suggestions_while_writing_a_ticket(client, kb_data):
    partial = client.get(
        "/kb/suggest/", {"subject": "the printer ate my paper", "topic": kb_data["topic"].pk}
    ).content.decode()
    assert "These articles may answer your question" in partial
    assert f"/kb/faq/{kb_data['jam'].pk}/" in partial
    assert "Restart the printer server" not in partial
    assert client.get("/kb/suggest/", {"subject": "pr"}).content.decode().strip() == ""
    assert client.get("/kb/suggest/", {"subject": "zebra"}).content.decode().strip() == ""
    form = client.get("/open/").content.decode()
    assert 'hx-get="/kb/suggest/"' in form and 'id="faq-suggestions"' in form


def test_a_disabled_knowledge_base_answers_404_and_leaves_the_menu(client, kb_data):
    config = PortalSettings.load()
    config.kb_enabled = False
    config.save()
    for url in ("/kb/", f"/kb/faq/{kb_data['jam'].pk}/", "/kb/search/?q=x", "/kb/suggest/"):
        assert client.get(url).status_code == 404, url
    home = client.get("/").content.decode()
    assert 'href="/kb/"' not in home and "How to clear" not in home


def test_admins_may_keep_the_knowledge_base_for_signed_in_clients(client, cast, kb_data):
    config = PortalSettings.load()
    config.kb_requires_login = True
    config.save()
    response = client.get(f"/kb/faq/{kb_data['jam'].pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/kb/faq/{kb_data['jam'].pk}/"
    client.force_login(cast.bob)
    assert client.get(f"/kb/faq/{kb_data['jam'].pk}/").status_code == 200


def test_knowledge_base_pages_cost_the_same_queries_for_2_or_20_articles(client, cast, kb_data):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = ["/kb/", f"/kb/category/{kb_data['printing'].pk}/", "/kb/search/?q=printer"]

    def counts():
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx))
        return out

    counts()  # settings rows are made on the first request
    few = counts()
    for i in range(18):
        kb.faq_create(
            actor=cast.admin,
            category=kb_data["printing"],
            question=f"Printer question {i}",
            answer="<p>printer</p>",
            is_published=True,
            is_featured=True,
        )
    assert counts() == few
