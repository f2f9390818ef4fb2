"""Full-text search of FAQs.

PostgreSQL: a weighted tsvector (question A, keywords B, answer C) stored in
`Faq.search_vector` by the services and indexed with GIN (migration 0002); queries are
`websearch_to_tsquery` (all words, quoted phrases, -exclusions) or, for suggestions, any
of the words, ranked with `ts_rank`. The text search configuration is
`settings.HELPDESK_KB_SEARCH_CONFIG` (default "english": stems words, drops stop words).

SQLite (the embedded default): words are matched with LIKE, all of them (search) or any
of them (suggestions), ranked by where they match. Slower and without stemming, but the
same behaviour for ordinary queries.
"""

import re

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


def config() -> str:
    return getattr(settings, "HELPDESK_KB_SEARCH_CONFIG", "english")


def search_vector() -> SearchVector:
    cfg = config()
    return (
        SearchVector("question", weight="A", config=cfg)
        + SearchVector("keywords", weight="B", config=cfg)
        + SearchVector("answer_text", weight="C", config=cfg)
    )


def terms(text: str) -> list[str]:
    """The words of a query worth matching (no stop words, no single letters)."""
    words = [w.lower() for w in WORD.findall(text or "")]
    kept = [w for w in dict.fromkeys(words) if len(w) > 1 and w not in STOP_WORDS]
    return kept[:MAX_TERMS]


def uses_postgres() -> bool:
    return connection.vendor == "postgresql"


def search(qs: QuerySet, text: str, *, any_word: bool = False) -> QuerySet:
    """FAQs of `qs` matching `text`, best first (an empty query matches nothing)."""
    words = terms(text)
    if not words:
        return qs.none()
    if uses_postgres():
        return _search_postgres(qs, text, words, any_word=any_word)
    return _search_fallback(qs, words, any_word=any_word)


def _search_postgres(qs: QuerySet, text: str, words: list[str], *, any_word: bool) -> QuerySet:
    cfg = config()
    if any_word:
        query = SearchQuery(words[0], search_type="plain", config=cfg)
        for word in words[1:]:
            query |= SearchQuery(word, search_type="plain", config=cfg)
    else:
        query = SearchQuery(text, search_type="websearch", config=cfg)
    return (
        qs.filter(search_vector=query)
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "question", "pk")
    )


def _word_q(word: str) -> Q:
    return (
        Q(question__icontains=word) | Q(keywords__icontains=word) | Q(answer_text__icontains=word)
    )


def _search_fallback(qs: QuerySet, words: list[str], *, any_word: bool) -> QuerySet:
    combined = Q()
    for word in words:
        combined = (combined | _word_q(word)) if any_word else (combined & _word_q(word))
    score = Value(0, output_field=IntegerField())
    for word in words:
        score = (
            score
            + Case(When(question__icontains=word, then=4), default=0, output_field=IntegerField())
            + Case(When(keywords__icontains=word, then=2), default=0, output_field=IntegerField())
            + Case(
                When(answer_text__icontains=word, then=1), default=0, output_field=IntegerField()
            )
        )
    return qs.filter(combined).annotate(rank=score).order_by("-rank", "question", "pk")
