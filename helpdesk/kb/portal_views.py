"""The knowledge base as clients read it: published FAQs of public categories only
(kb.faq_selectors decides), searchable; suggestions while a ticket is written."""

from functools import wraps

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from helpdesk.params import page_of
from helpdesk.portal.files import file_response
from helpdesk.portal.kb_access import kb_readable
from helpdesk.portal.models import PortalSettings
from helpdesk.portal.selectors import topics_public
from helpdesk.portal.viewer import login_redirect, viewer_for

from .faq_selectors import (
    categories_public,
    category_public_get,
    faq_public_get,
    faqs_featured,
    faqs_public,
    faqs_search_public,
    faqs_suggest,
)
from .params import SearchParams, SuggestParams

PAGE_SIZE = 20
MAX_QUERY = 200  # words of a subject searched for suggestions


def kb_view(view):
    """404 when the knowledge base is off; sign in first when admins restrict it."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        config = PortalSettings.load()
        if not config.kb_enabled:
            raise Http404(_("The knowledge base is not available."))
        if not kb_readable(viewer_for(request), config):
            return login_redirect(request)
        return view(request, *args, **kwargs)

    return wrapped


@kb_view
def kb_index(request):
    return render(
        request,
        "portal/kb/index.html",
        {"categories": list(categories_public()), "featured": list(faqs_featured())},
    )


@kb_view
def kb_category(request, pk):
    category = category_public_get(pk=pk)
    if category is None:
        raise Http404(_("Category not found."))
    return render(
        request,
        "portal/kb/category.html",
        {
            "category": category,
            "children": list(categories_public(parent=category)),
            "faqs": list(faqs_public().filter(category=category).order_by("question")),
        },
    )


@kb_view
def kb_faq(request, pk):
    faq = faq_public_get(pk=pk)
    if faq is None:
        raise Http404(_("Article not found."))
    offered = {t.pk for t in topics_public()}
    topics = [t for t in faq.topics.all() if t.pk in offered]
    return render(request, "portal/kb/faq.html", {"faq": faq, "topics": topics})


@kb_view
def kb_search(request):
    """Bad `q` or `page` answer 400 with the errors and no results."""
    params = SearchParams(request.GET)
    text = params.cleaned_data["q"].strip() if params.is_valid() else ""
    page = page_of(Paginator(faqs_search_public(text=text), PAGE_SIZE), params)
    errors = params.problems()
    if errors:
        text, page = "", None
    template = "portal/kb/_results.html" if request.htmx else "portal/kb/search.html"
    ctx = {"q": text, "page": page, "query_errors": errors}
    return render(request, template, ctx, status=400 if errors else 200)


@kb_view
def kb_suggest(request):
    """FAQs that may answer the ticket being written (htmx, from the open form)."""
    params = SuggestParams(request.GET, topics=topics_public())
    if not params.is_valid():
        ctx = {"query_errors": params.problems()}
        return render(request, "portal/_query_errors.html", ctx, status=400)
    data, topic = params.cleaned_data, params.cleaned_data["topic"]
    text = (data["subject"] or data["q"] or "").strip()[:MAX_QUERY]
    faqs = faqs_suggest(text=text, topic=topic) if len(text) >= 3 else []
    return render(request, "portal/kb/_suggestions.html", {"faqs": faqs, "q": text})


@kb_view
def kb_attachment(request, pk, file_pk, filename=""):
    faq = faq_public_get(pk=pk)
    attachment = next((a for a in faq.attachments.all() if a.pk == file_pk), None) if faq else None
    if attachment is None:
        raise Http404(_("File not found."))
    return file_response(attachment.file.file, attachment.filename, attachment.content_type)
