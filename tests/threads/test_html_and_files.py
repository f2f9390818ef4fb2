import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.errors import ValidationFailed
from threads import services
from threads.html import bodies, html_to_text, sanitize_html, text_to_html
from threads.models import StoredFile
from threads.services import NewAttachment


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p onclick='x()'>hi</p>", "<p>hi</p>"),
        ("<script>alert(1)</script>ok", "ok"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<img src="x" onerror="alert(1)">', '<img src="x">'),
        ('<img src="data:image/png;base64,AAA">', "<img>"),
        ("<style>body{display:none}</style><b>bold</b>", "<b>bold</b>"),
        ('<iframe src="https://evil.test"></iframe>text', "text"),
        ('<img src="cid:logo@x">', '<img src="cid:logo@x">'),
        ('<div style="position:fixed">x</div>', "<div>x</div>"),
    ],
)
def test_sanitize_html_keeps_formatting_and_drops_danger(dirty, clean):
    assert sanitize_html(dirty) == clean


def test_text_to_html_escapes_and_keeps_paragraphs():
    assert text_to_html("a <b>\nline\n\npara") == "<p>a &lt;b&gt;<br>line</p><p>para</p>"


def test_html_to_text_is_readable():
    assert html_to_text("<h1>T</h1><p>a&amp;b<br>c</p><ul><li>x</li></ul>") == "T\n\na&b\nc\n\n- x"


def test_bodies_for_both_formats():
    assert bodies("<p>x</p><script>1</script>", "html") == ("<p>x</p>", "x")
    assert bodies("  x  ", "text") == ("<p>x</p>", "x")


def test_file_store_saves_content_once(db):
    a = services.file_store(content=b"abc", content_type="text/plain")
    b = services.file_store(content=b"abc", content_type="text/plain")
    assert a.pk == b.pk and StoredFile.objects.count() == 1
    assert a.file.name == f"files/{a.sha256[:2]}/{a.sha256[2:4]}/{a.sha256}"
    assert default_storage.open(a.file.name).read() == b"abc"


def test_oversize_files_are_refused(db, settings, nothing_written):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 3}
    with nothing_written(), pytest.raises(ValidationFailed) as refusal:
        services.files_store([NewAttachment("big.bin", b"1234")])
    assert refusal.value.code == "attachment_too_large"
    assert StoredFile.objects.count() == 0


def test_orphan_files_are_purged_after_the_grace_period(db):
    orphan = services.file_store(content=b"orphan")
    fresh = services.file_store(content=b"fresh")
    StoredFile.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    assert services.files_purge_orphans(older_than_hours=24) == 1
    assert list(StoredFile.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not default_storage.exists(orphan.file.name)


def test_a_stored_file_row_without_a_file_is_purged_with_the_others(db):
    """Storage.delete("") raises ValueError: the purge stopped there, its row already
    deleted, and left the other orphans (mypy: FieldFile.name is str | None)."""
    old = timezone.now() - dt.timedelta(days=2)
    orphan = services.file_store(content=b"orphan")
    StoredFile.objects.create(sha256="0" * 64, size=0, file="")
    StoredFile.objects.update(created_at=old)
    assert services.files_purge_orphans(older_than_hours=24) == 2
    assert not StoredFile.objects.exists()
    assert not default_storage.exists(orphan.file.name)


def test_attached_files_are_never_purged(cast):
    from ..factories import attachment, open_ticket

    ticket = open_ticket(cast.alice, department=cast.dept_a, files=[attachment(content=b"keep me")])
    StoredFile.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    assert services.files_purge_orphans() == 0
    assert ticket.thread.entries.get().attachments.get().file.file.read() == b"keep me"


def test_unsafe_filenames_are_cleaned(cast):
    from ..factories import attachment, open_ticket

    ticket = open_ticket(
        cast.alice, department=cast.dept_a, files=[attachment(name='../../etc/pa"ss<wd>')]
    )
    assert ticket.thread.entries.get().attachments.get().filename == "passwd"


def test_drafts_are_saved_per_agent_and_namespace_and_restored(db):
    from threads.selectors import draft_for

    from ..factories import AgentFactory

    alex, bea = AgentFactory(), AgentFactory()
    services.draft_save(agent=alex, namespace="ticket.7.reply", body="Dear client")
    services.draft_save(agent=alex, namespace="ticket.7.reply", body="Dear client, fixed")
    services.draft_save(agent=bea, namespace="ticket.7.reply", body="Bea's")
    services.draft_save(agent=alex, namespace="ticket.7.note", body="note")
    assert draft_for(agent=alex, namespace="ticket.7.reply") == "Dear client, fixed"
    assert draft_for(agent=bea, namespace="ticket.7.reply") == "Bea's"
    assert draft_for(agent=bea, namespace="ticket.7.note") == ""
    assert services.drafts_delete(namespace_prefix="ticket.7.") == 3


def test_files_kept_by_canned_responses_are_not_orphans(cast):
    from helpdesk.kb.services import canned_create

    from ..factories import attachment

    canned_create(
        actor=cast.admin, title="With file", body="x", files=[attachment("guide.txt", b"guide")]
    )
    StoredFile.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    assert services.files_purge_orphans() == 0
    assert StoredFile.objects.count() == 1


def test_inline_images_rewrite_only_whole_src_attributes():
    from threads.html import inline_images

    html = sanitize_html('<img src="cid:logo@x"><p>cid:logo@x stays text</p><img src="cid:other">')
    out = inline_images(html, {"logo@x": "/files/1/logo.png"})
    assert out == '<img src="/files/1/logo.png"><p>cid:logo@x stays text</p><img src="cid:other">'


def test_a_hostile_content_id_cannot_open_markup():
    """The audit's payload: a Content-ID that would close the attribute and the tag."""
    from threads.html import inline_images

    html = sanitize_html('<img src="cid:a"><p title=" onerror=alert(document.domain) x=">hi</p>')
    out = inline_images(html, {'a"><p title=': "/files/9/x.txt", "a": "/files/1/a.png"})
    assert "onerror=alert" not in out.replace('title=" onerror=alert(document.domain) x="', "")
    assert out.startswith('<img src="/files/1/a.png">')
    assert out.count("<p") == 1
