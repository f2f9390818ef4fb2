"""Full-text search of FAQs: PostgreSQL's (stemming, web-search syntax, a GIN index) and
the word-matching fallback of SQLite, ranked the same way for ordinary queries."""

import pytest
from django.db import connection

from helpdesk.kb import faq_selectors as selectors
from helpdesk.kb import faq_services as kb
from helpdesk.kb import search
from helpdesk.kb.models import Faq

from ..factories import TopicFactory


@pytest.fixture
def faqs(cast):
    public = kb.faq_category_create(actor=cast.admin, name="Help")
    internal = kb.faq_category_create(actor=cast.admin, name="Runbooks", is_public=False)

    def make(question, answer, keywords="", category=public, published=True):
        return kb.faq_create(
            actor=cast.admin,
            category=category,
            question=question,
            answer=answer,
            keywords=keywords,
            is_published=published,
        )

    return {
        "jam": make("How to clear a printer jam", "<p>Open the tray and pull gently.</p>"),
        "toner": make("Replace the toner", "<p>Pull the old cartridge out.</p>", "printer"),
        "vpn": make("VPN setup", "<p>The printer must share the VPN network.</p>"),
        "other": make("Unrelated", "<p>Nothing to see.</p>"),
        "draft": make("Printer drivers", "<p>Soon.</p>", published=False),
        "internal": make("Printer server restart", "<p>ssh in</p>", category=internal),
    }


def questions(qs) -> list[str]:
    return [f.question for f in qs]


def test_a_word_is_found_in_questions_keywords_and_answers_best_first(faqs):
    assert questions(selectors.faqs_search_public(text="printer")) == [
        "How to clear a printer jam",
        "Replace the toner",
        "VPN setup",
    ]


def test_all_words_must_match_and_case_does_not_matter(faqs):
    assert questions(selectors.faqs_search_public(text="PRINTER Jam")) == [
        "How to clear a printer jam"
    ]
    assert questions(selectors.faqs_search_public(text="printer unicorn")) == []


def test_empty_and_stop_word_queries_find_nothing(faqs):
    for text in ("", "   ", "the a of", "!!!"):
        assert list(selectors.faqs_search_public(text=text)) == []


def test_staff_search_sees_drafts_and_internal_articles(faqs):
    assert set(questions(selectors.faqs_search_all(text="printer"))) == {
        "How to clear a printer jam",
        "Replace the toner",
        "VPN setup",
        "Printer drivers",
        "Printer server restart",
    }


def test_suggestions_match_any_word_and_prefer_the_chosen_topic(faqs):
    text = "my printer is broken, network down"
    found = questions(selectors.faqs_suggest(text=text))
    assert found[0] == "How to clear a printer jam"  # a word of the question ranks first
    assert sorted(found[1:]) == ["Replace the toner", "VPN setup"]
    topic = TopicFactory(name="Printing")
    faqs["toner"].topics.add(topic)
    assert questions(selectors.faqs_suggest(text=text, topic=topic))[0] == "Replace the toner"
    assert selectors.faqs_suggest(text="zebra quokka") == []


def test_the_fallback_search_behaves_the_same_on_any_database(faqs):
    qs = Faq.objects.filter(pk__in=[f.pk for f in faqs.values()])
    assert questions(search._search_fallback(qs, ["printer"], any_word=False)) == [
        "How to clear a printer jam",  # in the question (ties by question)
        "Printer drivers",
        "Printer server restart",
        "Replace the toner",  # in the keywords
        "VPN setup",  # in the answer
    ]
    assert questions(search._search_fallback(qs, ["printer", "jam"], any_word=False)) == [
        "How to clear a printer jam"
    ]
    assert questions(search._search_fallback(qs, ["tray", "toner"], any_word=True)) == [
        "Replace the toner",
        "How to clear a printer jam",
    ]


def test_edits_are_searchable_at_once(cast, faqs):
    kb.faq_update(actor=cast.admin, faq=faqs["other"], answer="<p>Reboot the router.</p>")
    assert questions(selectors.faqs_search_public(text="router")) == ["Unrelated"]


@pytest.mark.postgres
def test_postgres_stems_words_and_understands_web_search_syntax(faqs):
    assert questions(selectors.faqs_search_public(text="jams printers")) == [
        "How to clear a printer jam"
    ]
    assert questions(selectors.faqs_search_public(text="printer -toner")) == [
        "How to clear a printer jam",
        "VPN setup",
    ]
    assert questions(selectors.faqs_search_public(text='"clear a printer"')) == [
        "How to clear a printer jam"
    ]


@pytest.mark.postgres
def test_postgres_keeps_a_weighted_vector_and_uses_the_gin_index(faqs):
    faq = Faq.objects.get(pk=faqs["toner"].pk)
    assert "'printer':" in faq.search_vector and "B" in faq.search_vector.split("'printer':")[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'kb_faq_search_gin'")
        assert "USING gin (search_vector)" in cursor.fetchone()[0]
    qs = search.search(Faq.objects.all(), "printer")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = qs.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "kb_faq_search_gin" in plan
