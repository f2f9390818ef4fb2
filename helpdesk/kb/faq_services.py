"""Knowledge base: categories and FAQs, edited by agents with faq.manage.

Every change goes through these functions (staff views, admin, seed data): they check
the permission, sanitise the HTML, store attachments once per SHA-256 and keep the
full-text index (`Faq.search_vector`, PostgreSQL) up to date.
"""

from collections.abc import Iterable, Sequence

from django.db import IntegrityError, connection, transaction
from django.db.models.deletion import ProtectedError

from accounts import permissions as perms
from accounts.actors import actor_user, is_agent, is_system
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from threads.html import html_to_text, sanitize_html
from threads.services import NewAttachment, files_store

from .models import Faq, FaqAttachment, FaqCategory
from .search import search_vector

UNSET = object()


def _check_manage(actor) -> None:
    if is_system(actor):
        return
    if not (is_agent(actor) and perms.has_agent_perm(actor, "faq.manage")):
        raise PermissionRefused(
            "You need the faq.manage permission for this.", code="permission_denied"
        )


def _required(value: str, field: str, errors: dict) -> str:
    value = " ".join((value or "").split())
    if not value:
        errors[field] = ["This field is required."]
    return value


# --- categories ---------------------------------------------------------------------


def faq_category_check_parent(category: FaqCategory | None, parent: FaqCategory | None) -> None:
    """Refuse a parent that would put the category inside itself."""
    node, seen = parent, {category.pk} if category is not None and category.pk else set()
    while node is not None:
        if node.pk in seen:
            raise ValidationFailed(
                "A category cannot be inside itself.",
                code="category_cycle",
                fields={"parent": ["A category cannot be inside itself."]},
            )
        seen.add(node.pk)
        node = node.parent


def _save_category(category: FaqCategory) -> FaqCategory:
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError:
        msg = f"A category named {category.name!r} already exists there."
        raise Conflict(msg, code="category_exists", fields={"name": [msg]}) from None
    return category


def faq_category_create(
    *,
    actor,
    name: str,
    parent: FaqCategory | None = None,
    is_public: bool = True,
    description: str = "",
    notes: str = "",
    sort: int = 0,
) -> FaqCategory:
    _check_manage(actor)
    errors: dict = {}
    name = _required(name, "name", errors)[:128]
    if errors:
        raise ValidationFailed("A category needs a name.", fields=errors)
    faq_category_check_parent(None, parent)
    category = FaqCategory(
        name=name,
        parent=parent,
        is_public=is_public,
        description=sanitize_html(description),
        notes=notes,
        sort=sort,
    )
    return _save_category(category)


def faq_category_update(
    *,
    actor,
    category: FaqCategory,
    name=UNSET,
    parent=UNSET,
    is_public=UNSET,
    description=UNSET,
    notes=UNSET,
    sort=UNSET,
) -> FaqCategory:
    _check_manage(actor)
    if name is not UNSET:
        errors: dict = {}
        category.name = _required(name, "name", errors)[:128]
        if errors:
            raise ValidationFailed("A category needs a name.", fields=errors)
    if parent is not UNSET:
        faq_category_check_parent(category, parent)
        category.parent = parent
    if description is not UNSET:
        category.description = sanitize_html(description)
    for field, value in (("is_public", is_public), ("notes", notes), ("sort", sort)):
        if value is not UNSET:
            setattr(category, field, value)
    return _save_category(category)


def faq_category_delete(*, actor, category: FaqCategory) -> None:
    """Only an empty category goes (no FAQs, no subcategories)."""
    _check_manage(actor)
    try:
        with transaction.atomic():
            category.delete()
    except (ProtectedError, IntegrityError):
        raise Conflict(
            f"Category {category.name!r} still holds FAQs or categories: move or delete them "
            "first.",
            code="category_not_empty",
        ) from None


# --- FAQs -----------------------------------------------------------------------------


def _clean_faq(question: str, answer: str) -> tuple[str, str, str]:
    errors: dict = {}
    question = _required(question, "question", errors)[:255]
    answer_html = sanitize_html(answer or "")
    answer_text = html_to_text(answer_html)
    if not answer_text:
        errors["answer"] = ["This field is required."]
    if errors:
        raise ValidationFailed("An FAQ needs a question and an answer.", fields=errors)
    return question, answer_html, answer_text


def faq_reindex(*, faq: Faq) -> None:
    """Refresh the full-text index of one FAQ (PostgreSQL; nothing to do on SQLite)."""
    if connection.vendor == "postgresql":
        Faq.objects.filter(pk=faq.pk).update(search_vector=search_vector())


def _save_faq(faq: Faq, *, topics, stored, remove_attachment_ids: Iterable[int] = ()) -> Faq:
    try:
        with transaction.atomic():
            faq.save()
            if topics is not None:
                faq.topics.set(topics)
            if remove_attachment_ids:
                faq.attachments.filter(pk__in=list(remove_attachment_ids)).delete()
            FaqAttachment.objects.bulk_create(
                FaqAttachment(
                    faq=faq,
                    file=f,
                    filename=spec.filename[:255],
                    content_type=spec.content_type or f.content_type,
                )
                for spec, f in stored
            )
            faq_reindex(faq=faq)
    except IntegrityError:
        msg = f"An FAQ asking {faq.question!r} already exists."
        raise Conflict(msg, code="faq_exists", fields={"question": [msg]}) from None
    return faq


def faq_create(
    *,
    actor,
    category: FaqCategory,
    question: str,
    answer: str,
    keywords: str = "",
    notes: str = "",
    is_published: bool = False,
    is_featured: bool = False,
    topics: Sequence = (),
    files: Sequence[NewAttachment] = (),
) -> Faq:
    """A new FAQ; `answer` is HTML (sanitised here)."""
    _check_manage(actor)
    question, answer_html, answer_text = _clean_faq(question, answer)
    stored = files_store(list(files))  # slow I/O before the transaction
    faq = Faq(
        category=category,
        question=question,
        answer_html=answer_html,
        answer_text=answer_text,
        keywords=" ".join(keywords.split())[:255],
        notes=notes,
        is_published=is_published,
        is_featured=is_featured,
        created_by=actor_user(actor),
        updated_by=actor_user(actor),
    )
    return _save_faq(faq, topics=list(topics), stored=stored)


def faq_update(
    *,
    actor,
    faq: Faq,
    category=UNSET,
    question=UNSET,
    answer=UNSET,
    keywords=UNSET,
    notes=UNSET,
    is_published=UNSET,
    is_featured=UNSET,
    topics=None,
    files: Sequence[NewAttachment] = (),
    remove_attachment_ids: Iterable[int] = (),
) -> Faq:
    """Change what is given; `topics` replaces the related topics when not None."""
    _check_manage(actor)
    question, answer_html, answer_text = _clean_faq(
        faq.question if question is UNSET else question,
        faq.answer_html if answer is UNSET else answer,
    )
    faq.question, faq.answer_html, faq.answer_text = question, answer_html, answer_text
    if keywords is not UNSET:
        faq.keywords = " ".join(keywords.split())[:255]
    for field, value in (
        ("category", category),
        ("notes", notes),
        ("is_published", is_published),
        ("is_featured", is_featured),
    ):
        if value is not UNSET:
            setattr(faq, field, value)
    faq.updated_by = actor_user(actor)
    stored = files_store(list(files))
    return _save_faq(
        faq,
        topics=list(topics) if topics is not None else None,
        stored=stored,
        remove_attachment_ids=remove_attachment_ids,
    )


def faq_delete(*, actor, faq: Faq) -> None:
    """The FAQ and its attachment rows go; stored files stay for the orphan cleanup."""
    _check_manage(actor)
    faq.delete()
