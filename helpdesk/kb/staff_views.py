"""The knowledge base in the staff panel (/scp/kb/): agents with faq.manage list, add,
edit and delete categories and FAQs. Thin adapters over kb.faq_services."""

from functools import wraps

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import permissions as perms
from accounts.errors import DomainError, PermissionRefused
from helpdesk.panel.access import agent_required
from helpdesk.panel.views.common import page
from helpdesk.params import query_refused
from helpdesk.portal.files import file_response
from helpdesk.portal.forms import add_domain_error, to_attachments

from . import faq_selectors as selectors
from . import faq_services as services
from .forms import FaqCategoryForm, FaqForm, faq_values
from .models import Faq, FaqCategory
from .params import StaffListParams

LIST_LIMIT = 200


def _ns(request) -> str:
    """The URL namespace these views are mounted under ("panel:kb_staff" when the panel
    includes them), so links work wherever they are mounted."""
    return request.resolver_match.namespace if request.resolver_match else "kb_staff"


def _go(request, name: str, *args):
    return redirect(reverse(f"{_ns(request)}:{name}", args=args))


def _page(request, template: str, context: dict, status: int = 200):
    return page(request, template, {**context, "kb": _ns(request) + ":"}, status=status)


def faq_manager_required(view):
    """Agents only (the panel's sign-in, 2FA included), and only with faq.manage."""

    @agent_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not perms.has_agent_perm(request.user, "faq.manage"):
            raise PermissionRefused(  # agent_required shows the panel's refusal page
                _("You need the faq.manage permission to edit the knowledge base."),
                extra={"permission": "faq.manage"},
            )
        return view(request, *args, **kwargs)

    return wrapped


@faq_manager_required
def kb_index(request):
    """Bad `q` or `category` answer 400: the errors, above every FAQ."""
    params = StaffListParams(request.GET, categories=FaqCategory.objects.all())
    valid = params.is_valid()
    q = params.cleaned_data["q"].strip() if valid else ""
    category = params.cleaned_data["category"] if valid else None
    faqs = selectors.faqs_search_all(text=q) if q else selectors.faqs_all().order_by("question")
    if category is not None:
        faqs = faqs.filter(category=category)
    context = {
        "categories": selectors.categories_all(),
        "faqs": list(faqs[:LIST_LIMIT]),
        "limit": LIST_LIMIT,
        "q": q,
        "category": category,
        "query_errors": params.problems(),
    }
    return _page(request, "staff/kb/index.html", context, status=200 if valid else 400)


# --- categories ------------------------------------------------------------------------


def _category_args(form) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "parent": data["parent"],
        "is_public": data["is_public"],
        "description": data["description"],
        "notes": data["notes"],
        "sort": data["sort"] or 0,
    }


@faq_manager_required
def category_new(request):
    form = FaqCategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = services.faq_category_create(actor=request.user, **_category_args(form))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Category %(name)s added.") % {"name": category.name})
            return _go(request, "index")
    return _page(request, "staff/kb/category_form.html", {"form": form, "category": None})


@faq_manager_required
def category_edit(request, pk):
    category = get_object_or_404(FaqCategory.objects.select_related("parent"), pk=pk)
    form = FaqCategoryForm(request.POST or None, instance=category)
    if request.method == "POST" and form.is_valid():
        try:
            services.faq_category_update(
                actor=request.user, category=category, **_category_args(form)
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Category %(name)s saved.") % {"name": category.name})
            return _go(request, "index")
    return _page(request, "staff/kb/category_form.html", {"form": form, "category": category})


@faq_manager_required
@require_POST
def category_delete(request, pk):
    category = get_object_or_404(FaqCategory, pk=pk)
    try:
        services.faq_category_delete(actor=request.user, category=category)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _go(request, "category_edit", pk)
    messages.success(request, _("Category %(name)s deleted.") % {"name": category.name})
    return _go(request, "index")


# --- FAQs --------------------------------------------------------------------------------


def _faq_args(form) -> dict:
    data = form.cleaned_data
    return {**faq_values(data), "files": to_attachments(data.get("attachments"))}


FAQ_FIELDS = {"answer": "answer", "question": "question", "attachments": "attachments"}


@faq_manager_required
def faq_new(request):
    initial = {}
    params = StaffListParams(request.GET, categories=FaqCategory.objects.all())
    del params.fields["q"]
    if request.method == "GET" and not params.is_valid():
        return query_refused(params)
    if request.method == "GET" and params.cleaned_data["category"] is not None:
        initial["category"] = params.cleaned_data["category"].pk
    form = FaqForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            faq = services.faq_create(actor=request.user, **_faq_args(form))
        except DomainError as exc:
            add_domain_error(form, exc, FAQ_FIELDS)
        else:
            messages.success(request, _("FAQ added."))
            return _go(request, "faq", faq.pk)
    return _page(request, "staff/kb/faq_form.html", {"form": form, "faq": None})


def _faq_or_404(pk) -> Faq:
    return get_object_or_404(
        Faq.objects.select_related("category", "created_by", "updated_by"), pk=pk
    )


@faq_manager_required
def faq_view(request, pk):
    faq = _faq_or_404(pk)
    public = selectors.faq_public_get(pk=faq.pk) is not None
    return _page(
        request,
        "staff/kb/faq.html",
        {
            "faq": faq,
            "public": public,
            "attachments": list(faq.attachments.select_related("file")),
            "topics": list(faq.topics.select_related("parent")),
        },
    )


@faq_manager_required
def faq_edit(request, pk):
    faq = _faq_or_404(pk)
    form = FaqForm(request.POST or None, request.FILES or None, instance=faq)
    if request.method == "POST" and form.is_valid():
        removed = [a.pk for a in form.cleaned_data.get("remove_attachments") or ()]
        try:
            services.faq_update(
                actor=request.user, faq=faq, remove_attachment_ids=removed, **_faq_args(form)
            )
        except DomainError as exc:
            add_domain_error(form, exc, FAQ_FIELDS)
        else:
            messages.success(request, _("FAQ saved."))
            return _go(request, "faq", faq.pk)
    return _page(request, "staff/kb/faq_form.html", {"form": form, "faq": faq})


@faq_manager_required
@require_POST
def faq_delete(request, pk):
    faq = _faq_or_404(pk)
    services.faq_delete(actor=request.user, faq=faq)
    messages.success(request, _("FAQ deleted."))
    return _go(request, "index")


@faq_manager_required
def faq_attachment(request, pk, file_pk, filename=""):
    faq = _faq_or_404(pk)
    attachment = faq.attachments.select_related("file").filter(pk=file_pk).first()
    if attachment is None:
        raise Http404(_("File not found."))
    return file_response(attachment.file.file, attachment.filename, attachment.content_type)
