"""Knowledge base: categories (nested from 1.12 on) and FAQs with their topics and
attachments; answers sanitised as ours are, the search index refreshed (PostgreSQL)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from helpdesk.kb.models import Faq, FaqAttachment, FaqCategory
from helpdesk.kb.search import search_vector
from threads.html import html_to_text, sanitize_html

from . import files
from .base import Context, Skip, update_changed, upsert
from .config import _all, by_name
from .source import Row


def categories(ctx: Context) -> None:
    nested = ctx.source.has("faq_category", "category_pid")
    columns = ["ispublic", "name", "description", "notes"] + (["category_pid"] if nested else [])
    rows = _all(ctx, "faq_category", columns, key="category_id")

    def build(row: Row) -> dict[str, Any]:
        if not row["name"]:
            raise Skip("a category without a name")
        return {
            "name": row["name"][:128],
            "description": sanitize_html(row["description"] or ""),
            "is_public": bool(row["ispublic"]),
            "notes": row["notes"] or "",
        }

    adopt = by_name(FaqCategory, parent=None)

    upsert(ctx, "faq category", FaqCategory, rows, build, key="category_id", adopt=adopt)
    if nested:
        mapping = ctx.maps.load("faq category")
        parents = []
        for row in rows:
            ours, parent = (
                mapping.get(str(row["category_id"])),
                mapping.get(str(row["category_pid"] or 0)),
            )
            if ours is not None and parent is not None and parent != ours:
                parents.append(FaqCategory(pk=ours.object_id, parent_id=parent.object_id))
        update_changed(FaqCategory, parents, ["parent"])


def faqs(ctx: Context) -> None:
    rows = _all(
        ctx,
        "faq",
        [
            "category_id",
            "ispublished",
            "question",
            "answer",
            "keywords",
            "notes",
            "created",
            "updated",
        ],
        key="faq_id",
    )
    topics: dict[int, list[int]] = {}
    if ctx.source.has("faq_topic") and rows:
        for r in ctx.source.rows_in(
            "faq_topic", ["topic_id"], "faq_id", [r["faq_id"] for r in rows]
        ):
            topics.setdefault(r["faq_id"], []).append(r["topic_id"])
    attached = files.attachments_of(ctx, "F", [r["faq_id"] for r in rows])
    for row in rows:
        row["topics"] = sorted(topics.get(row["faq_id"], []))
        row["files"] = repr(attached.get(row["faq_id"], []))
    stored = files.store(ctx, [a for r in rows for a in attached.get(r["faq_id"], [])])
    categories_map, topic_map = ctx.maps.load("faq category"), ctx.maps.load("topic")
    seen: set[str] = set()

    def build(row: Row) -> dict[str, Any]:
        category = categories_map.get(str(row["category_id"]))
        if category is None:
            raise Skip("its category was not imported")
        question = (row["question"] or "").strip()[:255]
        if question.lower() in seen:
            raise Skip("the same question twice")
        seen.add(question.lower())
        answer_html = sanitize_html(row["answer"] or "")
        return {
            "category_id": category.object_id,
            "question": question,
            "answer_html": answer_html,
            "answer_text": html_to_text(answer_html),
            "keywords": (row["keywords"] or "")[:255],
            "notes": row["notes"] or "",
            "is_published": bool(row["ispublished"]),
            "created_at": ctx.when(row["created"]) or ctx.now,
            "updated_at": ctx.when(row["updated"]) or ctx.now,
        }

    adopt = by_name(Faq, "question")

    def after(written: list[tuple[Row, Any]]) -> None:
        faqs_written = [f for _, f in written]
        FaqAttachment.objects.filter(faq__in=faqs_written).delete()
        FaqAttachment.objects.bulk_create(
            FaqAttachment(faq=f, file=stored[a.file_id], filename=a.name, content_type=a.type)
            for row, f in written
            for a in attached.get(row["faq_id"], [])
            if a.file_id in stored
        )
        for row, faq in written:
            faq.topics.set(
                [
                    topic_map[str(t)].object_id
                    for t in topics.get(row["faq_id"], [])
                    if str(t) in topic_map
                ]
            )
        if connection.vendor == "postgresql":
            Faq.objects.filter(pk__in=[f.pk for f in faqs_written]).update(
                search_vector=search_vector()
            )

    upsert(ctx, "faq", Faq, rows, build, key="faq_id", adopt=adopt, after=after)
