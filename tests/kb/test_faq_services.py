"""Knowledge-base services: only agents with faq.manage change it; answers are
sanitised; categories nest without cycles and go only when empty; what clients may read
is decided by the selectors."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from helpdesk.kb import faq_selectors as selectors
from helpdesk.kb import faq_services as kb
from helpdesk.kb.models import Faq, FaqAttachment, FaqCategory
from threads.models import StoredFile
from threads.services import files_purge_orphans

from ..factories import AgentFactory, TopicFactory, attachment


@pytest.fixture
def editor(cast):
    return AgentFactory(department=cast.dept_a, permissions=["faq.manage"])


def test_only_agents_with_faq_manage_or_admins_or_the_system_edit(cast, editor, nothing_written):
    category = kb.faq_category_create(actor=editor, name="Printing")
    kb.faq_category_create(actor=cast.admin, name="Network")
    kb.faq_category_create(actor=SYSTEM, name="Email")
    for actor in (cast.agent_a, cast.alice):
        with nothing_written(), pytest.raises(PermissionRefused) as exc:
            kb.faq_category_create(actor=actor, name="Nope")
        assert str(exc.value) == "You need the faq.manage permission for this."
        with nothing_written(), pytest.raises(PermissionRefused) as refusal2:
            kb.faq_create(actor=actor, category=category, question="Q?", answer="A")
        assert refusal2.value.code == "permission_denied"
    editor.is_active = False
    editor.save()
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        kb.faq_category_update(actor=editor, category=category, name="Renamed")
    assert refusal.value.code == "permission_denied"
    assert sorted(FaqCategory.objects.values_list("name", flat=True)) == [
        "Email",
        "Network",
        "Printing",
    ]
    assert Faq.objects.count() == 0


def test_answers_are_sanitised_and_indexed_as_text(cast, editor):
    category = kb.faq_category_create(actor=editor, name="Printing")
    faq = kb.faq_create(
        actor=editor,
        category=category,
        question="  How do I   clear a jam? ",
        answer='<h2>Steps</h2><p onclick="x()">Open <b>tray</b></p><script>steal()</script>'
        '<a href="javascript:alert(1)">bad</a><img src="data:image/png;base64,AAA">',
        keywords=" paper   stuck ",
    )
    assert faq.question == "How do I clear a jam?"
    assert (
        faq.answer_html
        == '<h2>Steps</h2><p>Open <b>tray</b></p><a rel="noopener noreferrer nofollow">bad</a><img>'
    )
    assert faq.answer_text == "Steps\n\nOpen tray\nbad"
    assert faq.keywords == "paper stuck"
    assert (faq.created_by, faq.updated_by, faq.is_published) == (editor, editor, False)


def test_a_question_and_an_answer_are_required_and_questions_are_unique(
    cast, editor, nothing_written
):
    category = kb.faq_category_create(actor=editor, name="Printing")
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        kb.faq_create(
            actor=editor, category=category, question=" ", answer="<p> </p><script>x</script>"
        )
    assert exc.value.fields == {
        "question": ["This field is required."],
        "answer": ["This field is required."],
    }
    kb.faq_create(actor=editor, category=category, question="Jam?", answer="Open it.")
    with nothing_written(), pytest.raises(Conflict) as exc:
        kb.faq_create(actor=editor, category=category, question="JAM?", answer="Again.")
    assert exc.value.code == "faq_exists"
    assert Faq.objects.count() == 1


def test_updates_change_what_is_given_and_attachments_come_and_go(cast, editor):
    category = kb.faq_category_create(actor=editor, name="Printing")
    other = kb.faq_category_create(actor=editor, name="Hardware")
    topic = TopicFactory(name="Printers")
    faq = kb.faq_create(
        actor=cast.admin,
        category=category,
        question="Jam?",
        answer="Open it.",
        topics=[topic],
        files=[attachment("a.txt", b"A"), attachment("b.txt", b"B")],
    )
    first = faq.attachments.get(filename="a.txt")
    kb.faq_update(
        actor=editor,
        faq=faq,
        category=other,
        is_published=True,
        topics=[],
        files=[attachment("c.txt", b"C")],
        remove_attachment_ids=[first.pk],
    )
    faq.refresh_from_db()
    assert (faq.category, faq.question, faq.answer_html, faq.is_published) == (
        other,
        "Jam?",
        "Open it.",
        True,
    )
    assert (faq.created_by, faq.updated_by) == (cast.admin, editor)
    assert list(faq.topics.all()) == []
    assert sorted(faq.attachments.values_list("filename", flat=True)) == ["b.txt", "c.txt"]
    kb.faq_update(actor=editor, faq=faq, keywords="tray")  # topics=None keeps them
    assert faq.keywords == "tray"


def test_categories_nest_without_cycles_and_only_empty_ones_go(cast, editor, nothing_written):
    top = kb.faq_category_create(actor=editor, name="Hardware")
    child = kb.faq_category_create(actor=editor, name="Printers", parent=top)
    grandchild = kb.faq_category_create(actor=editor, name="Laser", parent=child)
    assert grandchild.full_name == "Hardware / Printers / Laser"
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        kb.faq_category_update(actor=editor, category=top, parent=grandchild)
    assert exc.value.fields == {"parent": ["A category cannot be inside itself."]}
    with nothing_written(), pytest.raises(Conflict) as refusal:
        kb.faq_category_create(actor=editor, name="printers", parent=top)
    assert refusal.value.code == "category_exists"
    with nothing_written(), pytest.raises(Conflict) as refusal2:
        kb.faq_category_create(actor=editor, name="HARDWARE")
    assert refusal2.value.code == "category_exists"
    kb.faq_category_create(actor=editor, name="Printers")  # same name elsewhere is fine
    kb.faq_create(actor=editor, category=grandchild, question="Toner?", answer="Shake it.")
    with nothing_written(), pytest.raises(Conflict) as exc:
        kb.faq_category_delete(actor=editor, category=grandchild)
    assert exc.value.code == "category_not_empty"
    with nothing_written(), pytest.raises(Conflict) as refusal3:
        kb.faq_category_delete(actor=editor, category=top)
    assert refusal3.value.code == "category_not_empty"
    kb.faq_delete(actor=editor, faq=Faq.objects.get())
    kb.faq_category_delete(actor=editor, category=grandchild)
    assert not FaqCategory.objects.filter(pk=grandchild.pk).exists()


def test_clients_read_published_faqs_of_public_categories_under_public_parents(cast, editor):
    public = kb.faq_category_create(actor=editor, name="Public")
    internal = kb.faq_category_create(actor=editor, name="Internal", is_public=False)
    under_internal = kb.faq_category_create(actor=editor, name="Nested", parent=internal)
    under_public = kb.faq_category_create(actor=editor, name="Child", parent=public)
    make = lambda c, q, pub=True: kb.faq_create(  # noqa: E731
        actor=editor, category=c, question=q, answer="a", is_published=pub
    )
    shown = make(public, "Shown")
    shown_child = make(under_public, "Shown too")
    make(public, "Draft", pub=False)
    make(internal, "Internal")
    make(under_internal, "Nested under internal")
    assert selectors.public_category_ids() == {public.pk, under_public.pk}
    assert set(selectors.faqs_public()) == {shown, shown_child}
    assert [c.name for c in selectors.categories_public()] == ["Public"]
    assert selectors.categories_public().get().faq_count == 1
    assert selectors.category_public_get(pk=under_internal.pk) is None
    assert selectors.faq_public_get(pk=shown.pk) == shown
    kb.faq_category_update(actor=editor, category=public, is_public=False)
    assert list(selectors.faqs_public()) == []


def test_featured_faqs_for_the_home_page(cast, editor):
    c = kb.faq_category_create(actor=editor, name="C")
    a = kb.faq_create(
        actor=editor, category=c, question="B?", answer="x", is_published=True, is_featured=True
    )
    kb.faq_create(actor=editor, category=c, question="A?", answer="x", is_published=True)
    kb.faq_create(actor=editor, category=c, question="D?", answer="x", is_featured=True)
    assert list(selectors.faqs_featured()) == [a]


def test_the_orphan_file_cleanup_keeps_files_of_faqs(cast, editor):
    c = kb.faq_category_create(actor=editor, name="C")
    kb.faq_create(actor=editor, category=c, question="Q?", answer="A", files=[attachment()])
    StoredFile.objects.update(created_at=timezone.now() - dt.timedelta(days=3))
    files_purge_orphans(older_than_hours=24)
    assert FaqAttachment.objects.get().file.file.read() == b"hello"


def test_django_admin_edits_go_through_the_services(client, cast):
    from helpdesk.kb.models import FaqCategory

    client.force_login(cast.admin)
    response = client.post(
        "/admin/helpdesk_kb/faqcategory/add/",
        {"name": "Printing", "is_public": "on", "sort": 0, "description": "<p>x</p><script>"},
    )
    assert response.status_code == 302
    category = FaqCategory.objects.get()
    assert category.description == "<p>x</p>"
    child = kb.faq_category_create(actor=cast.admin, name="Laser", parent=category)
    response = client.post(
        f"/admin/helpdesk_kb/faqcategory/{category.pk}/change/",
        {"name": "Printing", "parent": child.pk, "is_public": "on", "sort": 0},
    )
    assert response.status_code == 200
    assert "A category cannot be inside itself." in response.content.decode()
    response = client.post(
        "/admin/helpdesk_kb/faq/add/",
        {
            "category": category.pk,
            "question": "Jam?",
            "answer_html": "<p>Open it.</p><script>x()</script>",
            "attachments-TOTAL_FORMS": 0,
            "attachments-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    faq = Faq.objects.get()
    assert (faq.answer_html, faq.answer_text, faq.created_by) == (
        "<p>Open it.</p>",
        "Open it.",
        cast.admin,
    )
    assert list(selectors.faqs_search_all(text="open")) == [faq]
    response = client.post(
        "/admin/helpdesk_kb/faq/add/",
        {
            "category": category.pk,
            "question": "JAM?",
            "answer_html": "<p></p>",
            "attachments-TOTAL_FORMS": 0,
            "attachments-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["answer_html"] == ["This field is required."]
    assert Faq.objects.count() == 1
