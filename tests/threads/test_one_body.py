"""Each entry keeps one body, in its own format (threads.html.stored_body); body_html and
body_text derive the other (threads.models.OneBody), and keyword search finds the words
of an HTML body (SQLite: LIKE; PostgreSQL: the GIN index of helpdesk_panel 0010)."""

import pytest
from django.db import connection

from helpdesk.panel.search import quick_search
from threads.html import stored_body
from threads.models import EntryRevision, Thread, ThreadEntry
from threads.services import entry_create, entry_edit

from ..factories import open_ticket

pytestmark = pytest.mark.django_db


def test_the_stored_body_is_the_entrys_own_format():
    assert stored_body("html", "<p>Hi <b>you</b></p>", "Hi you") == "<p>Hi <b>you</b></p>"
    assert stored_body("text", "<p>Hi <b>you</b></p>", "Hi you") == "Hi you"
    # only one given: the stored one is made from it
    assert stored_body("html", text="a < b") == "<p>a &lt; b</p>"
    assert stored_body("text", html="<p>Hi <b>you</b></p>") == "Hi you"


def test_an_html_entry_stores_html_and_derives_its_text():
    thread = Thread.objects.create()
    entry = entry_create(
        thread_id=thread.pk,
        kind="message",
        body="<p>Paper <b>jam</b></p><script>x</script>",
        fmt="html",
    )
    row = ThreadEntry.objects.values("body", "format").get(pk=entry.pk)
    assert row == {"body": "<p>Paper <b>jam</b></p>", "format": "html"}
    fresh = ThreadEntry.objects.get(pk=entry.pk)
    assert fresh.body_html == "<p>Paper <b>jam</b></p>"
    assert fresh.body_text == "Paper jam"


def test_a_text_entry_stores_text_and_derives_its_html():
    thread = Thread.objects.create()
    entry = entry_create(thread_id=thread.pk, kind="message", body="Line one\nline <two>")
    assert ThreadEntry.objects.values_list("body", flat=True).get(pk=entry.pk) == (
        "Line one\nline <two>"
    )
    fresh = ThreadEntry.objects.get(pk=entry.pk)
    assert fresh.body_text == "Line one\nline <two>"
    assert fresh.body_html == "<p>Line one<br>line &lt;two&gt;</p>"


def test_the_derived_body_follows_the_stored_one():
    entry = ThreadEntry(format="text", body="first")
    assert entry.body_html == "<p>first</p>"
    entry.body = "second"
    assert entry.body_html == "<p>second</p>"


@pytest.mark.parametrize("order", ["html first", "text first"])
def test_the_setters_keep_working_in_either_order(order):
    thread = Thread.objects.create()
    entry = ThreadEntry(thread=thread, kind="note", format="html")
    pairs = [("body_html", "<p>Hi <i>there</i></p>"), ("body_text", "Hi there")]
    for name, value in pairs if order == "html first" else pairs[::-1]:
        setattr(entry, name, value)
    entry.save()
    assert ThreadEntry.objects.values_list("body", flat=True).get(pk=entry.pk) == (
        "<p>Hi <i>there</i></p>"
    )
    assert (entry.body_html, entry.body_text) == ("<p>Hi <i>there</i></p>", "Hi there")


def test_the_constructor_takes_both_bodies_and_stores_one():
    thread = Thread.objects.create()
    entry = ThreadEntry.objects.create(
        thread=thread, kind="note", format="text", body_html="<p>Hi</p>", body_text="Hi"
    )
    assert ThreadEntry.objects.values_list("body", flat=True).get(pk=entry.pk) == "Hi"


def test_a_format_set_after_the_bodies_is_settled_on_save():
    thread = Thread.objects.create()
    entry = ThreadEntry.objects.create(thread=thread, kind="note", body="plain")
    entry.body_html, entry.body_text = "<p><b>bold</b></p>", "bold"
    entry.format = "html"
    entry.save(update_fields=["body_html", "body_text", "format"])
    assert ThreadEntry.objects.values("body", "format").get(pk=entry.pk) == {
        "body": "<p><b>bold</b></p>",
        "format": "html",
    }


def test_an_edit_keeps_the_old_body_in_a_revision(cast):
    thread = Thread.objects.create()
    entry = entry_create(
        thread_id=thread.pk, kind="note", body="<p>Part <b>ordered</b></p>", fmt="html"
    )
    revision = entry_edit(entry=entry, body="Two parts ordered", editor=cast.agent_a, fmt="text")
    entry.refresh_from_db()
    assert (entry.format, entry.body, entry.body_html) == (
        "text",
        "Two parts ordered",
        "<p>Two parts ordered</p>",
    )
    old = EntryRevision.objects.get(pk=revision.pk)
    assert (old.format, old.body, old.body_text) == (
        "html",
        "<p>Part <b>ordered</b></p>",
        "Part ordered",
    )


def test_search_finds_the_words_of_an_html_body(cast):
    ticket = open_ticket(
        cast.alice,
        department=cast.dept_a,
        subject="Help",
        body="<p>The <b>toner</b> cartridge leaks</p>",
        fmt="html",
    )
    open_ticket(cast.alice, department=cast.dept_a, subject="Other", body="Nothing here")
    assert ThreadEntry.objects.filter(thread_id=ticket.thread_id, format="html").exists()
    found = quick_search(user=cast.agent_a, text="toner")
    assert [t.number for t in found.tickets] == [ticket.number]
    if connection.vendor == "postgresql":  # stemmed, as the index is built
        found = quick_search(user=cast.agent_a, text="cartridges leaking")
        assert [t.number for t in found.tickets] == [ticket.number]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GIN index")
def test_the_search_can_use_the_body_index(cast):
    """The search's expression is the index's: with sequential scans, plain index scans
    and nested loops off (the test table is too small to need the index; with or without
    statistics gathered by an earlier test, walking another index of the entries with a
    filter may look as cheap), the plan reads panel_entry_body_fts, which only a
    matching expression can use."""
    from helpdesk.panel.search import worded
    from tickets.models import Ticket

    open_ticket(cast.alice, department=cast.dept_a, subject="Help", body="<p>toner</p>", fmt="html")
    _, by_message = worded(Ticket.objects.all(), "subject", "toner")
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_nestloop = off")
        cur.execute("SET LOCAL enable_indexscan = off")
        plan = by_message.explain()
    assert "panel_entry_body_fts" in plan
