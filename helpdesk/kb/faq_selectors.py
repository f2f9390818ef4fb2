"""Reads of the knowledge base. What clients may read is decided here and only here:
a published FAQ whose category, and every category above it, is public."""

from django.db.models import Count, Prefetch, Q, QuerySet

from . import search
from .models import Faq, FaqAttachment, FaqCategory

SUGGESTIONS = 5


def public_category_ids() -> set[int]:
    """Categories clients may see: public, under public parents only (one query)."""
    rows = {
        pk: (parent, public)
        for pk, parent, public in FaqCategory.objects.values_list("pk", "parent_id", "is_public")
    }
    visible: dict[int, bool] = {}

    def is_visible(pk: int, depth: int = 0) -> bool:
        if pk in visible:
            return visible[pk]
        parent, public = rows[pk]
        ok = public and (parent is None or (depth < 50 and is_visible(parent, depth + 1)))
        visible[pk] = ok
        return ok

    return {pk for pk in rows if is_visible(pk)}


def faqs_public(*, category_ids: set[int] | None = None) -> QuerySet[Faq]:
    """FAQs clients may read."""
    ids = public_category_ids() if category_ids is None else category_ids
    return Faq.objects.filter(is_published=True, category_id__in=ids).select_related("category")


def faq_public_get(*, pk: int) -> Faq | None:
    return (
        faqs_public()
        .prefetch_related(
            Prefetch("attachments", queryset=FaqAttachment.objects.select_related("file")),
            "topics",
        )
        .filter(pk=pk)
        .first()
    )


def categories_public(*, parent: FaqCategory | None = None) -> QuerySet[FaqCategory]:
    """Public categories directly under `parent` (top level when None), with how many
    readable FAQs each holds."""
    ids = public_category_ids()
    return (
        FaqCategory.objects.filter(pk__in=ids, parent=parent)
        .annotate(
            faq_count=Count("faqs", filter=Q(faqs__is_published=True), distinct=True),
        )
        .order_by("sort", "name")
    )


def category_public_get(*, pk: int) -> FaqCategory | None:
    if pk not in public_category_ids():
        return None
    return FaqCategory.objects.select_related("parent").filter(pk=pk).first()


def faqs_featured(*, limit: int = 6) -> QuerySet[Faq]:
    return faqs_public().filter(is_featured=True).order_by("question")[:limit]


def faqs_search_public(*, text: str) -> QuerySet[Faq]:
    """Full-text search over what clients may read, best match first."""
    return search.search(faqs_public(), text)


def faqs_suggest(*, text: str, topic=None, limit: int = SUGGESTIONS) -> list[Faq]:
    """FAQs that may answer a ticket being written: any word of the subject matches;
    those related to the chosen help topic first."""
    found = list(search.search(faqs_public(), text, any_word=True)[: limit * 4])
    if topic is not None:
        related = set(
            Faq.topics.through.objects.filter(
                faq_id__in=[f.pk for f in found], helptopic_id=topic.pk
            ).values_list("faq_id", flat=True)
        )
        found.sort(key=lambda f: f.pk not in related)  # stable: keeps the rank otherwise
    return found[:limit]


# --- staff (agents with faq.manage; the views check the permission) -------------------


def faqs_all() -> QuerySet[Faq]:
    return Faq.objects.select_related("category", "category__parent").annotate(
        attachment_count=Count("attachments", distinct=True)
    )


def faqs_search_all(*, text: str) -> QuerySet[Faq]:
    return search.search(Faq.objects.select_related("category", "category__parent"), text)


def categories_all() -> list[FaqCategory]:
    """Every category with its FAQ count, in tree order (parents before children)."""
    categories = list(
        FaqCategory.objects.select_related("parent").annotate(
            faq_count=Count("faqs", distinct=True)
        )
    )
    children: dict[int | None, list[FaqCategory]] = {}
    for c in categories:
        children.setdefault(c.parent_id, []).append(c)
    ordered: list[FaqCategory] = []

    def walk(parent_id, depth):
        for c in sorted(children.get(parent_id, []), key=lambda c: (c.sort, c.name.lower())):
            c.depth = depth
            ordered.append(c)
            if depth < 50:
                walk(c.pk, depth + 1)

    walk(None, 0)
    return ordered
