"""The knowledge base in the staff panel (/scp/kb/): agents with faq.manage edit it;
other agents get 403, clients the panel's refusal, nobody is sent to sign in."""

from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.kb import faq_services as kb
from helpdesk.kb.models import Faq, FaqCategory

from ..factories import AgentFactory, TopicFactory, attachment


@pytest.fixture
def editor(cast):
    return AgentFactory(department=cast.dept_a, permissions=["faq.manage"])


@pytest.fixture
def kb_data(cast):
    category = kb.faq_category_create(actor=cast.admin, name="Printing")
    faq = kb.faq_create(
        actor=cast.admin,
        category=category,
        question="Jam?",
        answer="<p>Open it.</p>",
        files=[attachment("a.txt", b"A")],
    )
    return {"category": category, "faq": faq}


def urls(kb_data) -> dict[str, str]:
    c, f = kb_data["category"], kb_data["faq"]
    a = f.attachments.get()
    return {
        "/scp/kb/": "get",
        "/scp/kb/?q=jam": "get",
        "/scp/kb/categories/new/": "get",
        f"/scp/kb/categories/{c.pk}/": "get",
        f"/scp/kb/categories/{c.pk}/delete/": "post",
        "/scp/kb/faqs/new/": "get",
        f"/scp/kb/faqs/{f.pk}/": "get",
        f"/scp/kb/faqs/{f.pk}/edit/": "get",
        f"/scp/kb/faqs/{f.pk}/delete/": "post",
        f"/scp/kb/faqs/{f.pk}/files/{a.pk}/a.txt": "get",
    }


def test_nobody_is_sent_to_the_panels_sign_in(client, kb_data, nothing_written):
    with nothing_written():
        for url, method in urls(kb_data).items():
            response = getattr(client, method)(url)
            assert response.status_code == 302, url
            assert response["Location"] == "/scp/login/?next=" + quote(url, safe=""), url
    assert (Faq.objects.count(), FaqCategory.objects.count()) == (1, 1)


def test_agents_without_faq_manage_and_clients_get_403(client, cast, kb_data, nothing_written):
    for user in (cast.agent_a, cast.alice):
        client.force_login(user)
        with nothing_written():
            for url, method in urls(kb_data).items():
                assert getattr(client, method)(url).status_code == 403, (user, url)
    assert (Faq.objects.count(), FaqCategory.objects.count()) == (1, 1)


def test_editors_see_every_page(client, editor, kb_data):
    client.force_login(editor)
    for url, method in urls(kb_data).items():
        if method == "get":
            response = client.get(url)
            assert response.status_code == 200, url
    page = client.get("/scp/kb/").content.decode()
    assert "Jam?" in page and "no (draft)" in page and 'href="/scp/kb/"' in page


def test_an_editor_writes_an_faq_with_topics_and_files(client, cast, editor, kb_data):
    topic = TopicFactory(name="Printers")
    client.force_login(editor)
    response = client.post(
        "/scp/kb/faqs/new/",
        {
            "category": kb_data["category"].pk,
            "question": "Toner low?",
            "answer": "<p>Shake it.</p><script>x()</script>",
            "keywords": "cartridge",
            "topics": [topic.pk],
            "is_published": "on",
            "attachments": [SimpleUploadedFile("howto.txt", b"H")],
        },
    )
    faq = Faq.objects.get(question="Toner low?")
    assert response.status_code == 302
    assert response["Location"] == f"/scp/kb/faqs/{faq.pk}/"
    assert (faq.answer_html, faq.is_published, faq.created_by) == ("<p>Shake it.</p>", True, editor)
    assert list(faq.topics.all()) == [topic]
    assert list(faq.attachments.values_list("filename", flat=True)) == ["howto.txt"]
    assert client.get(f"/kb/faq/{faq.pk}/").status_code == 200  # now in the portal


def test_editing_removes_attachments_and_bad_input_keeps_the_form(client, editor, kb_data):
    faq = kb_data["faq"]
    a = faq.attachments.get()
    client.force_login(editor)
    response = client.post(
        f"/scp/kb/faqs/{faq.pk}/edit/",
        {"category": faq.category_id, "question": "", "answer": "<p></p>"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "question": ["This field is required."],
        "answer": ["This field is required."],
    }
    response = client.post(
        f"/scp/kb/faqs/{faq.pk}/edit/",
        {
            "category": faq.category_id,
            "question": "Jam again?",
            "answer": "<p>Pull.</p>",
            "remove_attachments": [a.pk],
        },
    )
    assert response.status_code == 302
    faq.refresh_from_db()
    assert (faq.question, faq.answer_html, faq.attachments.count()) == (
        "Jam again?",
        "<p>Pull.</p>",
        0,
    )


def test_duplicate_questions_are_shown_on_the_field(client, editor, kb_data):
    client.force_login(editor)
    response = client.post(
        "/scp/kb/faqs/new/",
        {"category": kb_data["category"].pk, "question": "JAM?", "answer": "x"},
    )
    assert response.context["form"].errors == {"question": ["An FAQ asking 'JAM?' already exists."]}
    assert Faq.objects.count() == 1


def test_categories_are_added_edited_and_deleted_only_when_empty(client, editor, kb_data):
    client.force_login(editor)
    response = client.post(
        "/scp/kb/categories/new/",
        {"name": "Laser", "parent": kb_data["category"].pk, "sort": 0},
    )
    assert response["Location"] == "/scp/kb/"
    laser = FaqCategory.objects.get(name="Laser")
    assert (laser.parent, laser.is_public) == (kb_data["category"], False)  # unchecked box
    form = client.get(f"/scp/kb/categories/{kb_data['category'].pk}/").context["form"]
    assert laser.pk not in [c.pk for c in form.fields["parent"].queryset]  # no cycles offered
    response = client.post(f"/scp/kb/categories/{kb_data['category'].pk}/delete/", follow=True)
    assert "still holds FAQs or categories" in response.content.decode()
    client.post(f"/scp/kb/categories/{laser.pk}/delete/")
    client.post(f"/scp/kb/faqs/{kb_data['faq'].pk}/delete/")
    client.post(f"/scp/kb/categories/{kb_data['category'].pk}/delete/")
    assert (Faq.objects.count(), FaqCategory.objects.count()) == (0, 0)


def test_the_faq_form_never_takes_more_files_than_the_hard_maximum(settings):
    from helpdesk import limits
    from helpdesk.kb.forms import FaqForm

    field = FaqForm().fields["attachments"]

    assert field.max_files == limits.max_attachments_hard() == 5
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENTS": 20}
    assert FaqForm().fields["attachments"].max_files == 10  # the form's own, now under the cap
